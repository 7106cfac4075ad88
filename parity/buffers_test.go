package parity_test

import (
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobcc/gobcc/bcc"
)

// goRecords is what one perf or ring buffer delivered to gobcc.
type goRecords struct {
	mu      sync.Mutex
	records []string // hex
	lost    uint64
}

func (r *goRecords) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.records)
}

// openBuffers opens the perf and ring buffers the program's header names
// before the workload, as run_bcc.py does.
func openBuffers(b *bcc.BPF, p *program) (map[string]*goRecords, error) {
	out := map[string]*goRecords{}
	for name := range p.PerfBufs {
		tb, err := b.Table(name)
		if err != nil {
			return nil, err
		}
		rec := &goRecords{}
		out[name] = rec
		_, err = tb.OpenPerfBuffer(func(cpu int, data []byte) {
			rec.mu.Lock()
			rec.records = append(rec.records, hex.EncodeToString(data))
			rec.mu.Unlock()
		}, bcc.PerfBufferOptions{LostCallback: func(n uint64) {
			rec.mu.Lock()
			rec.lost += n
			rec.mu.Unlock()
		}})
		if err != nil {
			return nil, err
		}
	}
	for name := range p.RingBufs {
		tb, err := b.Table(name)
		if err != nil {
			return nil, err
		}
		rec := &goRecords{}
		out[name] = rec
		if _, err := tb.OpenRingBuffer(func(data []byte) {
			rec.mu.Lock()
			rec.records = append(rec.records, hex.EncodeToString(data))
			rec.mu.Unlock()
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readBuffers polls until every buffer delivered what the header expects,
// or 5 s passed.
func readBuffers(b *bcc.BPF, p *program, recs map[string]*goRecords) error {
	if len(recs) == 0 {
		return nil
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		done := true
		for name, n := range p.PerfBufs {
			done = done && recs[name].count() >= n
		}
		for name, n := range p.RingBufs {
			done = done && recs[name].count() >= n
		}
		if done {
			return nil
		}
		if len(p.PerfBufs) > 0 {
			if _, err := b.PerfBufferPoll(50 * time.Millisecond); err != nil {
				return err
			}
		}
		if len(p.RingBufs) > 0 {
			if _, err := b.RingBufferPoll(50 * time.Millisecond); err != nil {
				return err
			}
		}
	}
	return nil
}

// compareRecords compares the records each front end received: the same
// count, the same lengths, and the same bytes once BCC's pid is replaced by
// ours. Perf buffer records are compared as a sorted set (they arrive per
// CPU, in an order up to the scheduler); ring buffer records in order.
func compareRecords(t *testing.T, p *program, py *pyProgram, g *goResult, pyPID int) {
	t.Helper()
	check := func(name string, want int, ordered bool) {
		pr, ok := py.Records[name]
		gr := g.records[name]
		if !ok || gr == nil {
			t.Errorf("%s: no records (BCC %v, gobcc %v)", name, ok, gr != nil)
			return
		}
		pyRecs := make([]string, len(pr.Records))
		for i, r := range pr.Records {
			pyRecs[i] = swapPIDHex(r, pyPID, os.Getpid())
		}
		goRecs := append([]string(nil), gr.records...)
		if !ordered {
			sort.Strings(pyRecs)
			sort.Strings(goRecs)
		}
		if len(goRecs) != want || len(pyRecs) != want {
			t.Errorf("%s: records gobcc %d, BCC %d, want %d", name, len(goRecs), len(pyRecs), want)
		}
		if pr.Lost != 0 || gr.lost != 0 {
			t.Errorf("%s: lost gobcc %d, BCC %d; want 0", name, gr.lost, pr.Lost)
		}
		if fmt.Sprint(goRecs) != fmt.Sprint(pyRecs) {
			t.Errorf("%s: records differ:\ngobcc %v\nBCC   %v", name, goRecs, pyRecs)
		}
	}
	for name, n := range p.PerfBufs {
		check(name, n, false)
	}
	for name, n := range p.RingBufs {
		check(name, n, true)
	}
}

// swapPIDHex replaces BCC Python's pid, as a little-endian u32 at any 4-byte
// aligned offset of a record, by ours.
func swapPIDHex(rec string, pyPID, goPID int) string {
	le := func(n int) string {
		return hex.EncodeToString([]byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)})
	}
	from, to := le(pyPID), le(goPID)
	var sb strings.Builder
	for i := 0; i < len(rec); i += 8 {
		end := min(i+8, len(rec))
		if rec[i:end] == from {
			sb.WriteString(to)
		} else {
			sb.WriteString(rec[i:end])
		}
	}
	return sb.String()
}
