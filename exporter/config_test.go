package exporter

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

// TestConfigErrorsWithoutProgram checks mistakes found while parsing: each
// error names the line and the field.
func TestConfigErrorsWithoutProgram(t *testing.T) {
	cases := []struct {
		name, yaml string
		line       int
		want       []string
	}{
		{"bad yaml", "metrics:\n  counters:\n    - name: x\n      table: y\n  counters: []\n", 5, []string{"yaml", `"counters" already defined at line 2`}},
		{"unknown field", "metrics:\n  counters:\n    - name: x\n      tabel: y\n", 4, []string{`"tabel"`, "known: name, help, table"}},
		{"unknown top field", "metric:\n  counters: []\n", 1, []string{`"metric"`}},
		{"unknown decoder", "metrics:\n  counters:\n    - name: x\n      table: t\n      labels:\n        - name: l\n          decoders:\n            - name: kysm\n", 8,
			[]string{"metrics.counters[0].labels[0].decoders[0].name", `unknown decoder "kysm"`}},
		{"decoder option that does not apply", "metrics:\n  counters:\n    - name: x\n      table: t\n      labels:\n        - name: l\n          decoders:\n            - name: ksym\n              regexps: [a]\n", 9,
			[]string{"decoders[0].regexps", "does not apply to the ksym decoder"}},
		{"bad regexp", "metrics:\n  counters:\n    - name: x\n      table: t\n      labels:\n        - name: l\n          decoders:\n            - name: regexp\n              regexps: ['(']\n", 9, []string{"regexps", "missing closing )"}},
		{"bad metric name", "metrics:\n  counters:\n    - name: 1x\n      table: t\n", 3, []string{"metrics.counters[0].name", "not a Prometheus metric name"}},
		{"missing table", "metrics:\n  gauges:\n    - name: x\n", 3, []string{"metrics.gauges[0].table", "missing"}},
		{"buckets on a counter", "metrics:\n  counters:\n    - name: x\n      table: t\n      bucket_max: 3\n", 5, []string{"metrics.counters[0].bucket_max", "only histograms"}},
		{"bad bucket type", "metrics:\n  histograms:\n    - name: x\n      table: t\n      bucket_type: log\n", 5, []string{"bucket_type", `"log"`}},
		{"duplicate label", "metrics:\n  counters:\n    - name: x\n      table: t\n      labels:\n        - name: a\n        - name: a\n", 7, []string{"labels[1].name", "used twice"}},
		{"no metrics", "metrics: {}\n", 1, []string{"no metrics"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConfig("p.yaml", []byte(c.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("%v does not wrap ErrConfig", err)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("%T is not a *ConfigError", err)
			}
			if ce.Line != c.line {
				t.Errorf("line %d, want %d (%v)", ce.Line, c.line, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "p.yaml:") {
				t.Errorf("%q does not start with the file", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q lacks %q", msg, w)
				}
			}
		})
	}
}

// TestConfigErrorsAgainstProgram compiles a program and checks that
// mistakes about its tables name line and field, and come before anything
// is attached: the program's tracepoint does not exist, so reaching attach
// would fail differently.
func TestConfigErrorsAgainstProgram(t *testing.T) {
	testutil.RequireRoot(t)
	src := filepath.Join(t.TempDir(), "p.c")
	prog := `struct key_t { u32 pid; u64 ip; char comm[16]; };
BPF_HASH(counts, struct key_t, u64);
BPF_HASH(floats, u32, struct key_t);
BPF_STACK_TRACE(stacks, 64);
BPF_PERF_OUTPUT(events);
RAW_TRACEPOINT_PROBE(gobcc_no_such_tracepoint) { return 0; }
`
	if err := os.WriteFile(src, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, yaml string
		line       int
		want       []string
	}{
		{"unknown table", "metrics:\n  counters:\n    - name: x\n      table: cuonts\n", 4,
			[]string{"metrics.counters[0].table", `no table "cuonts"`, "counts, floats"}},
		{"unknown field", "metrics:\n  counters:\n    - name: x\n      table: counts\n      labels:\n        - name: pid\n          field: tgid\n", 7,
			[]string{"metrics.counters[0].labels[0].field", `no field "tgid"`, "pid, ip, comm"}},
		{"struct key without field", "metrics:\n  counters:\n    - name: x\n      table: counts\n      labels:\n        - name: k\n", 6,
			[]string{"labels[0].field", "name one of its fields"}},
		{"ksym on a char array", "metrics:\n  counters:\n    - name: x\n      table: counts\n      labels:\n        - name: f\n          field: comm\n          decoders:\n            - name: ksym\n", 9,
			[]string{"decoders[0].name", "ksym decoder needs an integer field"}},
		{"string on an integer", "metrics:\n  counters:\n    - name: x\n      table: counts\n      labels:\n        - name: f\n          field: ip\n          decoders: [string]\n", 8,
			[]string{"decoders[0].name", "needs a char array"}},
		{"struct leaf without value", "metrics:\n  counters:\n    - name: x\n      table: floats\n", 3,
			[]string{"metrics.counters[0].value", "not a number"}},
		{"kstack without stack table", "metrics:\n  counters:\n    - name: x\n      table: counts\n      labels:\n        - name: s\n          field: pid\n          decoders:\n            - name: kstack\n              stack_table: counts\n", 10,
			[]string{"stack_table", "no BPF_STACK_TRACE table", "stacks"}},
		{"histogram of an events table", "metrics:\n  histograms:\n    - name: x\n      table: events\n", 4,
			[]string{"only counters count events"}},
		{"stack table as metric", "metrics:\n  counters:\n    - name: x\n      table: stacks\n", 4,
			[]string{"stack_trace table"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ParseConfig("p.yaml", []byte(c.yaml))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			e := New(Options{NoProcessMetrics: true})
			defer e.Close()
			err = e.AddProgram("p", src, cfg)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *ConfigError", err)
			}
			if ce.Line != c.line {
				t.Errorf("line %d, want %d (%v)", ce.Line, c.line, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
			if n := len(e.Programs()); n != 0 {
				t.Errorf("%d programs exported after a bad configuration", n)
			}
		})
	}
}

// TestExampleConfigsParse keeps the shipped examples valid.
func TestExampleConfigsParse(t *testing.T) {
	files, err := filepath.Glob("../examples/exporter/*.yaml")
	if err != nil || len(files) < 3 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		if _, err := LoadConfig(f); err != nil {
			t.Error(err)
		}
	}
}
