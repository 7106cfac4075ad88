package probes_test

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
	"github.com/gobcc/gobcc/probes"
)

func TestTracepoints(t *testing.T) {
	testutil.RequireRoot(t)
	got, err := probes.ListTracepoints("sched:sched_process_e*")
	if err != nil || !slices.Contains(got, "sched:sched_process_exec") || !slices.Contains(got, "sched:sched_process_exit") {
		testutil.RequireKernel(t, "ListTracepoints(sched:sched_process_e*) = %v, %v", got, err)
	}
	re, err := probes.GetTracepoints("sched:sched_process_ex")
	if err != nil || !slices.Equal(re, []string{"sched:sched_process_exec", "sched:sched_process_exit"}) {
		t.Errorf("GetTracepoints = %v, %v", re, err)
	}
	if !probes.TracepointExists("sched", "sched_switch") || probes.TracepointExists("sched", "no_such_event") {
		t.Error("TracepointExists is wrong about sched:sched_switch or sched:no_such_event")
	}
	fields, err := probes.TracepointFields("sched:sched_process_exec")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range fields {
		names = append(names, f.String())
	}
	if !slices.Contains(names, "pid_t pid") || !slices.Contains(names, "int data_loc_filename") {
		t.Errorf("fields of sched_process_exec = %v", names)
	}
	if _, err := probes.TracepointFields("sched:no_such_event"); !errors.Is(err, probes.ErrTracepointNotFound) {
		t.Errorf("TracepointFields(missing) = %v, want ErrTracepointNotFound", err)
	}
	raw, err := probes.ListRawTracepoints("sched_switch")
	if err != nil || !slices.Equal(raw, []string{"sched_switch"}) {
		t.Errorf("ListRawTracepoints(sched_switch) = %v, %v", raw, err)
	}
	// Under lockdown (this machine) the kernel refuses to list them: the
	// error must say so.
	fns, err := probes.ListKernelFunctions("vfs_rea?")
	switch {
	case errors.Is(err, os.ErrPermission):
		t.Logf("ListKernelFunctions: %v", err)
	case err != nil || !slices.Contains(fns, "vfs_read"):
		t.Errorf("ListKernelFunctions(vfs_rea?) = %v, %v", fns, err)
	}
	kfns, err := probes.GetKprobeFunctions("vfs_read$")
	if err != nil || !slices.Equal(kfns, []string{"vfs_read"}) {
		t.Errorf("GetKprobeFunctions(vfs_read$) = %v, %v", kfns, err)
	}
}

func ExampleTracepointExists() {
	fmt.Println(probes.TracepointExists("sched", "sched_switch"))
	// Output: true
}
