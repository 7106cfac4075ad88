package bcc

import (
	"strings"
	"testing"
)

// TestTypeNamesCoverConstants: every ProgType and MapType constant has the
// kernel's name (the names live in internal/bpfsys, keyed by x/sys's values).
func TestTypeNamesCoverConstants(t *testing.T) {
	for _, p := range []ProgType{SocketFilter, Kprobe, SchedCLS, SchedACT, Tracepoint, XDP, PerfEvent, CgroupSKB,
		CgroupSock, LWTIn, LWTOut, LWTXmit, SockOps, SKSKB, CgroupDevice, SKMsg, RawTracepoint, CgroupSockAddr,
		CgroupSysctl, RawTracepointWritable, CgroupSockopt, Tracing, LSM} {
		if strings.HasPrefix(p.String(), "prog_type(") {
			t.Errorf("ProgType %d has no name", int(p))
		}
	}
	for m := MapHash; m <= MapTaskStorage; m++ {
		if strings.HasPrefix(m.String(), "map_type(") {
			t.Errorf("MapType %d has no name", int(m))
		}
	}
	if MapRingbuf.String() != "ringbuf" || !MapLRUPercpuHash.PerCPU() || MapHash.PerCPU() || !MapDevmap.IsArray() || MapQueue.IsArray() {
		t.Error("MapType names or classes differ from the kernel's")
	}
}
