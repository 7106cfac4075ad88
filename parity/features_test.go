package parity_test

import (
	"fmt"
	"testing"

	"github.com/gobcc/gobcc/bcc"
)

// Glue to gobcc features that land after the core: uprobes and perf events,
// queue/stack pops, histogram printing.

func attachGoExtra(b *bcc.BPF, at attachSpec) error {
	return fmt.Errorf("attach kind %q not supported by the parity suite yet", at.Kind)
}

// popAll pops a queue or stack until it is empty (BCC's values()).
func popAll(tb *bcc.Table) ([]bcc.Value, error) {
	return nil, errWaiting
}

var errWaiting = fmt.Errorf("waiting for queue/stack Pop")

// histText prints a histogram table as BCC's print_log2_hist or
// print_linear_hist would, or returns nil while gobcc cannot.
func histText(t *testing.T, tb *bcc.Table, log2 bool, header string) *string {
	return nil
}

func comparePopped(t *testing.T, pt *pyTable, gt *goTable) {
	t.Helper()
	if gt.err == errWaiting {
		t.Skip("waiting for queue/stack Pop")
	}
	if len(gt.popped) != len(pt.PoppedHex) || len(gt.popped) == 0 {
		t.Fatalf("popped: gobcc %d values, BCC %d", len(gt.popped), len(pt.PoppedHex))
	}
	for i, v := range gt.popped {
		if err := compareValue(pt.Popped[i], v); err != nil {
			t.Errorf("pop %d: %v", i, err)
		}
	}
}
