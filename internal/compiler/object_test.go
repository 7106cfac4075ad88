package compiler

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfobj"
	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/testutil"
)

// normaliseMapLoads zeroes the immediates of 64-bit immediate loads that
// carry a map (src_reg 1 or 2), the only place two loads of the same code
// may differ.
func normaliseMapLoads(insns []byte) []byte {
	out := bytes.Clone(insns)
	for i := 0; i+16 <= len(out); i += 8 {
		if out[i] == 0x18 {
			if src := out[i+1] >> 4; src == 1 || src == 2 {
				binary.LittleEndian.PutUint32(out[i+4:], 0)
			}
			i += 8
		}
	}
	return out
}

// TestObjectLoadsLikeCompile: the seed program compiled through libbcc,
// written as an object, read back and loaded without libbcc, gives the
// kernel the same instructions as libbcc's own load.
func TestObjectLoadsLikeCompile(t *testing.T) {
	testutil.RequireRoot(t)
	s, err := Compile(context.Background(), Request{Text: seedProgram(t)}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res := s.Result()
	for _, tb := range res.Tables {
		defer unix.Close(tb.FD)
	}
	const fn, tracepoint = "tracepoint__kmem__kmalloc", 5
	fresh, err := s.Load(LoadRequest{Name: fn, ProgType: tracepoint})
	if err != nil || fresh.FD < 0 {
		t.Fatalf("fresh load: %v %+v", err, fresh)
	}
	defer unix.Close(fresh.FD)

	obj, err := ToObject(res, "kmalloc_callers.c", "test")
	if err != nil {
		t.Fatal(err)
	}
	data, err := bpfobj.Write(obj)
	if err != nil {
		t.Fatal(err)
	}
	back, err := bpfobj.Read(data)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := FromObject(back)
	if err != nil {
		t.Fatal(err)
	}
	defer objs.Close()
	ores := objs.Result()
	if len(ores.Tables) != 1 || ores.Tables[0].Name != "callers" || ores.Tables[0].KeyDesc != res.Tables[0].KeyDesc || ores.Tables[0].MaxEntries != res.Tables[0].MaxEntries {
		t.Fatalf("object tables %+v, compile's %+v", ores.Tables, res.Tables)
	}
	defer unix.Close(ores.Tables[0].FD)
	cached, err := objs.Load(LoadRequest{Name: fn, ProgType: tracepoint, LogLevel: 1})
	if err != nil || cached.FD < 0 {
		t.Fatalf("object load: %v %+v", err, cached)
	}
	defer unix.Close(cached.FD)
	a, err := bpfsys.ProgXlatedInsns(fresh.FD)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bpfsys.ProgXlatedInsns(cached.FD)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) == 0 || !bytes.Equal(normaliseMapLoads(a), normaliseMapLoads(b)) {
		t.Errorf("instructions differ: libbcc %d bytes, object %d bytes", len(a), len(b))
	}
	// The object's load refers to its own map, not the compile's.
	ia, _ := bpfsys.ProgInfoByFD(fresh.FD)
	ib, _ := bpfsys.ProgInfoByFD(cached.FD)
	if len(ia.MapIDs) != 1 || len(ib.MapIDs) != 1 || ia.MapIDs[0] == ib.MapIDs[0] {
		t.Errorf("map ids: compile %v, object %v; want one each, different", ia.MapIDs, ib.MapIDs)
	}
	// A verifier rejection comes back as a result, not an error.
	bad, err := objs.Load(LoadRequest{Name: fn, ProgType: 7 /* perf_event: wrong context */})
	if err != nil {
		t.Fatal(err)
	}
	if bad.FD >= 0 {
		unix.Close(bad.FD)
	}
	if _, err := objs.Load(LoadRequest{Name: "missing"}); err == nil {
		t.Error("loading a function the object lacks succeeded")
	}
	objs.Close()
	if _, err := objs.Load(LoadRequest{Name: fn, ProgType: tracepoint}); !errors.Is(err, ErrClosed) {
		t.Errorf("load after close: %v, want ErrClosed", err)
	}
}

func TestToObjectRefusesMapOfMaps(t *testing.T) {
	r := &Result{Tables: []Table{{Name: "outer", Type: unix.BPF_MAP_TYPE_HASH_OF_MAPS, KeySize: 4, LeafSize: 4, MaxEntries: 1}}}
	if _, err := ToObject(r, "", ""); !errors.Is(err, ErrNotStorable) {
		t.Errorf("err = %v, want ErrNotStorable", err)
	}
}
