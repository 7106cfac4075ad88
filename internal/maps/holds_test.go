package maps

import (
	"errors"
	"testing"
)

func TestHoldRulesOfProgArraysAndMapsOfMaps(t *testing.T) {
	spec := func(name string, typ Type) Spec {
		return Spec{Name: name, Type: typ, FD: -1, MaxEntries: 4, KeySize: 4, LeafSize: 4, KeyDesc: descU32, LeafDesc: descU32}
	}
	arr := New(spec("arr", Array))
	progs := New(spec("progs", ProgArray))
	aom := New(spec("aom", ArrayOfMaps))
	if err := progs.CheckHoldsPrograms(); err != nil {
		t.Errorf("a prog array refuses programs: %v", err)
	}
	if err := arr.CheckHoldsPrograms(); !errors.Is(err, ErrTypeMismatch) {
		t.Errorf("an array takes programs: %v", err)
	}
	for name, c := range map[string]struct{ outer, inner *Map }{
		"array outer": {arr, progs}, "nil inner": {aom, nil}, "itself": {aom, aom},
	} {
		if _, release, err := c.outer.HoldInner(c.inner); !errors.Is(err, ErrTypeMismatch) || release != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// FD -1 is how a closed map looks: the inner map must be open.
	if _, release, err := aom.HoldInner(arr); !errors.Is(err, ErrClosed) || release != nil {
		t.Errorf("HoldInner of a closed map: %v", err)
	}
}

func TestCheckEventBufferByKind(t *testing.T) {
	spec := func(typ Type) Spec {
		return Spec{Name: "ev", Type: typ, FD: -1, MaxEntries: 4, KeySize: 4, LeafSize: 4, KeyDesc: descU32, LeafDesc: descU32}
	}
	perf, ring, arr := New(spec(PerfEventArray)), New(spec(Ringbuf)), New(spec(Array))
	for name, c := range map[string]struct {
		m          *Map
		perf, ring bool
		ok         bool
	}{
		"perf as perf": {perf, true, false, true}, "ring as ring": {ring, false, true, true},
		"perf as either": {perf, true, true, true}, "ring as either": {ring, true, true, true},
		"ring as perf": {ring, true, false, false}, "perf as ring": {perf, false, true, false},
		"array as either": {arr, true, true, false},
	} {
		err := c.m.CheckEventBuffer(c.perf, c.ring)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrWrongTableType)) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
