package main

import (
	"encoding/json"
	"math/big"
	"math/bits"
	"regexp"
	"strings"
	"testing"
)

// keyedHistProg is a BCC tool's keyed histogram: one log2 histogram per
// CPU, the key's first member the bucket and its second the slot (a third
// member is ignored, as BCC ignores it).
const keyedHistProg = `
struct key { u32 cpu; u64 slot; u32 unused; };
BPF_HASH(lat, struct key, u64, 1024);
TRACEPOINT_PROBE(kmem, kmalloc) {
    struct key k = {.cpu = bpf_get_smp_processor_id(), .slot = bpf_log2l(args->bytes_req)};
    lat.increment(k);
    return 0;
}
`

func TestRunKeyedHistogramText(t *testing.T) {
	requireRoot(t)
	r := gobcc(t, keyedHistProg, "run", "--duration", "1500ms", "-")
	wantCode(t, r, exitOK)
	if !regexp.MustCompile(`(?m)^Bucket ptr = \d+$`).MatchString(r.stdout) {
		t.Fatalf("no BCC section heading:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "     value               : count     distribution") {
		t.Fatalf("no print_log2_hist header:\n%s", r.stdout)
	}
}

// jsonHist is the histogram line of run -o json, as a script reads it.
type jsonHist struct {
	Type     string `json:"type"`
	Table    string `json:"table"`
	Kind     string `json:"kind"`
	Sections []struct {
		Bucket  string `json:"bucket"`
		Buckets []struct {
			Low   uint64   `json:"low"`
			High  uint64   `json:"high"`
			Count *big.Int `json:"count"`
		} `json:"buckets"`
	} `json:"sections"`
}

func TestRunKeyedHistogramJSON(t *testing.T) {
	requireRoot(t)
	r := gobcc(t, keyedHistProg, "run", "-o", "json", "--duration", "1500ms", "-")
	wantCode(t, r, exitOK)
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var h jsonHist
		if err := json.Unmarshal([]byte(line), &h); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if h.Type != "histogram" {
			continue
		}
		if h.Table != "lat" || h.Kind != "log2" {
			t.Errorf("histogram %+v", h)
		}
		for _, s := range h.Sections {
			if !regexp.MustCompile(`^\d+$`).MatchString(s.Bucket) {
				t.Errorf("bucket %q is not a CPU number", s.Bucket)
			}
			for _, b := range s.Buckets {
				// Log2 slot i counts 2^(i-1) .. 2^i-1.
				if b.Count.Sign() <= 0 || b.High < b.Low || (b.Low != 0 && b.High != 2*b.Low-1) || bits.OnesCount64(b.High+1) > 1 {
					t.Errorf("slot %+v", b)
				}
				seen++
			}
		}
	}
	if seen == 0 {
		t.Fatalf("no histogram slot in the JSON output:\n%s", r.stdout)
	}
}
