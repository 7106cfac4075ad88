//go:build linux

package bpfsys

import (
	"errors"
	"reflect"
	"runtime"
	"testing"
)

func TestParseCPUList(t *testing.T) {
	good := []struct {
		in   string
		want []int
	}{
		{"0\n", []int{0}},
		{"0-3", []int{0, 1, 2, 3}},
		{"0-3,5,7-8\n", []int{0, 1, 2, 3, 5, 7, 8}},
		{"", []int{}},
		{"\n", []int{}},
		{"2-2", []int{2}},
		{"10-11,64", []int{10, 11, 64}},
	}
	for _, c := range good {
		got, err := parseCPUList(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("parseCPUList(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"a", "0-", "-1", "3-1", "0,,1", "1,0", "0-2,2", "+1", "1 ,2", "0-1-2", "99999999"} {
		got, err := parseCPUList(in)
		if !errors.Is(err, ErrBadCPUList) {
			t.Errorf("parseCPUList(%q) = %v, %v; want ErrBadCPUList", in, got, err)
		}
	}
}

func TestMachineCPUs(t *testing.T) {
	possible, err := PossibleCPUs()
	if err != nil {
		t.Fatal(err)
	}
	online, err := OnlineCPUs()
	if err != nil {
		t.Fatal(err)
	}
	if len(online) == 0 || len(online) > possible {
		t.Errorf("online %v, possible %d", online, possible)
	}
	if runtime.NumCPU() > len(online) {
		t.Errorf("runtime.NumCPU() = %d exceeds online %v", runtime.NumCPU(), online)
	}
}
