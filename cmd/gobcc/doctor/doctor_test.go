package doctor

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/gobcc/gobcc/internal/testutil"
)

func TestMain(m *testing.M) { testutil.LeakCheckMain(m) }

// TestFindMemberInAnonymousMembers builds a struct as C lays out
// struct { int a; union { int b; struct { char c; int d; }; }; }.
func TestFindMemberInAnonymousMembers(t *testing.T) {
	i32 := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	i8 := &btf.Int{Name: "char", Size: 1}
	inner := &btf.Struct{Size: 8, Members: []btf.Member{{Name: "c", Type: i8}, {Name: "d", Type: i32, Offset: 32}}}
	u := &btf.Union{Size: 8, Members: []btf.Member{{Name: "b", Type: i32}, {Type: inner}}}
	outer := &btf.Struct{Name: "s", Size: 12, Members: []btf.Member{{Name: "a", Type: i32}, {Type: u, Offset: 32}}}
	for field, want := range map[string]btf.Bits{"a": 0, "b": 32, "c": 32, "d": 64} {
		got, ok := findMember(outer.Members, field, 0)
		if !ok || got != want {
			t.Errorf("findMember(%s) = %d, %v; want %d", field, got, ok, want)
		}
	}
	if _, ok := findMember(outer.Members, "nosuch", 0); ok {
		t.Error("found nosuch")
	}
}

func TestBTFOffsetOfTaskStruct(t *testing.T) {
	spec, err := btf.LoadSpec(vmlinuxBTF)
	if err != nil {
		testutil.RequireKernel(t, "no kernel BTF: %v", err)
		return
	}
	off, err := btfOffset(spec, "task_struct", "comm")
	if err != nil || off <= 0 {
		t.Fatalf("task_struct.comm at %d: %v", off, err)
	}
	if _, err := btfOffset(spec, "task_struct", "nosuch"); err == nil {
		t.Error("task_struct.nosuch has an offset")
	}
}

func TestPrint(t *testing.T) {
	f := Finding{Check: "kprobes", Status: StatusFail, Detail: "refused", Advice: "use tracepoints"}
	var text, js bytes.Buffer
	if err := Print(&text, f, false); err != nil {
		t.Fatal(err)
	}
	if want := "FAIL  kprobes          refused\n                       -> use tracepoints\n"; text.String() != want {
		t.Errorf("text %q, want %q", text.String(), want)
	}
	if err := Print(&js, f, true); err != nil {
		t.Fatal(err)
	}
	var back Finding
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Type != "doctor" || back.Advice != f.Advice {
		t.Errorf("JSON %s: %+v, %v", js.String(), back, err)
	}
}

func TestFeatureFindingWithoutProbe(t *testing.T) {
	c := featureCheck{feature: "nosuch", check: "x", failStatus: StatusFail}
	if f := c.finding(nil); f.Status != StatusWarn {
		t.Errorf("a feature bcc does not probe: %+v", f)
	}
}
