//go:build linux

package bpfsys

import (
	"testing"
	"unsafe"
)

// TestLayouts pins the attribute and info layouts to offsets printed by gcc
// from linux/bpf.h (Linux 6.1 UAPI headers, the same on every architecture
// because the UAPI pads explicitly), since a shifted field silently
// sends the kernel garbage.
func TestLayouts(t *testing.T) {
	var mi bpfMapInfo
	var pi bpfProgInfo
	var ma mapCreateAttr
	var pl progLoadAttr
	var ba mapBatchAttr
	var rt rawTracepointOpenAttr
	checks := []struct {
		name      string
		got, want uintptr
	}{
		{"bpf_map_info.netns_dev", unsafe.Offsetof(mi.netnsDev), 48},
		{"bpf_map_info.btf_id", unsafe.Offsetof(mi.btfID), 64},
		{"bpf_map_info.map_extra", unsafe.Offsetof(mi.mapExtra), 80},
		{"sizeof bpf_map_info", unsafe.Sizeof(mi), 88},
		{"bpf_prog_info.name", unsafe.Offsetof(pi.name), 64},
		{"bpf_prog_info.netns_dev", unsafe.Offsetof(pi.netnsDev), 88},
		{"bpf_prog_info.btf_id", unsafe.Offsetof(pi.btfID), 128},
		{"bpf_prog_info.run_time_ns", unsafe.Offsetof(pi.runTimeNs), 192},
		{"bpf_prog_info.verified_insns", unsafe.Offsetof(pi.verifiedInsns), 216},
		{"bpf_prog_info.attach_btf_id", unsafe.Offsetof(pi.attachBTFID), 224},
		{"sizeof bpf_prog_info", unsafe.Sizeof(pi), 232},
		{"map create map_extra", unsafe.Offsetof(ma.mapExtra), 64},
		{"prog load attach_btf_obj_fd", unsafe.Offsetof(pl.attachBTFObjFD), 112},
		{"prog load fd_array", unsafe.Offsetof(pl.fdArray), 120},
		{"prog load core_relo_rec_size", unsafe.Offsetof(pl.coreReloRecSize), 136},
		{"prog load log_true_size", unsafe.Offsetof(pl.logTrueSize), 140},
		{"batch flags", unsafe.Offsetof(ba.flags), 48},
		{"raw_tracepoint prog_fd", unsafe.Offsetof(rt.progFD), 8},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}
