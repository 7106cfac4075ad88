package kbtf

import (
	"errors"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/gobcc/gobcc/internal/testutil"
)

func TestMain(m *testing.M) { testutil.LeakCheckMain(m) }

func TestHasMemberInAnonymousMembers(t *testing.T) {
	i32 := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	inner := &btf.Struct{Size: 4, Members: []btf.Member{{Name: "d", Type: i32}}}
	u := &btf.Union{Size: 4, Members: []btf.Member{{Name: "b", Type: i32}, {Type: inner}}}
	members := []btf.Member{{Name: "a", Type: i32}, {Type: u, Offset: 32}}
	for name, want := range map[string]bool{"a": true, "b": true, "d": true, "e": false} {
		if got := HasMember(members, name); got != want {
			t.Errorf("HasMember(%s) = %v, want %v", name, got, want)
		}
	}
}

func TestStructHasFieldOfRunningKernel(t *testing.T) {
	has, err := StructHasField("task_struct", "pid")
	if errors.Is(err, ErrNoKernelBTF) {
		testutil.RequireKernel(t, "%v", err)
		return
	}
	if err != nil || !has {
		t.Fatalf("task_struct.pid: %v, %v", has, err)
	}
	if has, err := StructHasField("task_struct", "nosuch_field"); err != nil || has {
		t.Errorf("task_struct.nosuch_field: %v, %v", has, err)
	}
	if _, err := StructHasField("nosuch_struct", "x"); err == nil {
		t.Error("an unknown struct gave no error")
	}
}

func TestFindMemberOffsetsThroughAnonymousMembers(t *testing.T) {
	i32 := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	inner := &btf.Struct{Size: 4, Members: []btf.Member{{Name: "d", Type: i32}}}
	u := &btf.Union{Size: 4, Members: []btf.Member{{Name: "b", Type: i32}, {Type: inner}}}
	members := []btf.Member{{Name: "a", Type: i32}, {Type: &btf.Struct{Size: 8, Members: []btf.Member{{Name: "c", Type: i32}, {Type: u, Offset: 32}}}, Offset: 64}}
	for name, want := range map[string]btf.Bits{"a": 0, "c": 64, "b": 96, "d": 96} {
		if got, ok := findMember(members, name, 0); !ok || got != want {
			t.Errorf("findMember(%s) = %d, %v, want %d", name, got, ok, want)
		}
	}
	if _, ok := findMember(members, "e", 0); ok {
		t.Error("findMember found a member that is not there")
	}
}
