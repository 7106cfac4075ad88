package benchcmp

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRegistryIsValid(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatal(err)
	}
	ms := Measurements()
	if len(ms) < 17 {
		t.Fatalf("%d measurements registered, want at least the 17 of issue 2", len(ms))
	}
	for _, m := range ms {
		if _, err := os.Stat(filepath.Join("../../../scripts/bench", m.Python)); err != nil {
			t.Errorf("%s: Python script: %v", m.Name, err)
		}
		if got, err := Lookup(m.Name); err != nil || got != m {
			t.Errorf("Lookup(%q) = %v, %v", m.Name, got, err)
		}
	}
	if _, err := Lookup("no/such"); !errors.Is(err, ErrUnknownMeasurement) {
		t.Errorf("Lookup of an unknown name: %v", err)
	}
}

func TestValidateRefusesMalformed(t *testing.T) {
	ok := Measurement{Name: "x/y", Group: "g", Title: "t", Unit: Seconds, Python: "x.py",
		Gobcc: func(Params) (float64, error) { return 1, nil }}
	if err := ok.validate(); err != nil {
		t.Fatalf("valid measurement refused: %v", err)
	}
	for name, change := range map[string]func(*Measurement){
		"bad name":         func(m *Measurement) { m.Name = "Has Space" },
		"no python":        func(m *Measurement) { m.Python = "" },
		"no gobcc":         func(m *Measurement) { m.Gobcc = nil },
		"unknown unit":     func(m *Measurement) { m.Unit = "furlongs" },
		"walltime as rate": func(m *Measurement) { m.Unit, m.WallTime = PerSecond, true },
		"reserved arg":     func(m *Measurement) { m.Args = map[string]string{"quick": "1"} },
	} {
		m := ok
		change(&m)
		if err := m.validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestStatistics(t *testing.T) {
	s := Series{Samples: []float64{5, 1, 4, 2, 3}}
	if s.Min() != 1 || s.Max() != 5 || s.Median() != 3 {
		t.Errorf("min/max/median = %v/%v/%v", s.Min(), s.Max(), s.Median())
	}
	if m := (Series{Samples: []float64{4, 1, 3, 2}}).Median(); m != 2.5 {
		t.Errorf("even median = %v, want 2.5", m)
	}
	if !math.IsNaN(Series{}.Median()) {
		t.Error("median of nothing is not NaN")
	}
	time := Result{Measurement: &Measurement{Unit: Seconds},
		Gobcc: Series{Samples: []float64{1}}, Python: Series{Samples: []float64{4}}}
	if time.Ratio() != 0.25 || time.Advantage() != 4 {
		t.Errorf("time: ratio %v advantage %v", time.Ratio(), time.Advantage())
	}
	rate := Result{Measurement: &Measurement{Unit: PerSecond},
		Gobcc: Series{Samples: []float64{1}}, Python: Series{Samples: []float64{4}}}
	if rate.Ratio() != 0.25 || rate.Advantage() != 0.25 {
		t.Errorf("rate: ratio %v advantage %v", rate.Ratio(), rate.Advantage())
	}
}

func TestParseSample(t *testing.T) {
	v, err := parseSample("noise\nBENCH {\"value\": 1.5}\nmore noise\n")
	if err != nil || v != 1.5 {
		t.Errorf("parseSample = %v, %v", v, err)
	}
	if _, err := parseSample("no sample here\n"); !errors.Is(err, ErrNoSample) {
		t.Errorf("missing sample: %v", err)
	}
	if _, err := parseSample("BENCH {bad json}\n"); err == nil {
		t.Error("bad JSON accepted")
	}
}

func TestProbeRefusesBadCommandLines(t *testing.T) {
	for _, args := range [][]string{nil, {"no/such"}, {"ksym", "notkeyvalue"}} {
		var out, errOut strings.Builder
		if code := ProbeMain(args, &out, &errOut); code == 0 || errOut.Len() == 0 {
			t.Errorf("ProbeMain(%q) = %d, stderr %q", args, code, errOut.String())
		}
	}
}
