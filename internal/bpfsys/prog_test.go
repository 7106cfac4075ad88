//go:build linux

package bpfsys

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/testutil"
)

// loadProg loads insns and closes the program at the end of the test.
func loadProg(tb testing.TB, p ProgLoadAttr) (int, string) {
	tb.Helper()
	testutil.RequireRoot(tb)
	fd, log, err := ProgLoad(p)
	if err != nil {
		tb.Fatalf("ProgLoad: %v\n%s", err, log)
	}
	tb.Cleanup(func() { unix.Close(fd) })
	return fd, log
}

func TestProgLoadAndInfo(t *testing.T) {
	fd, log := loadProg(t, ProgLoadAttr{Type: unix.BPF_PROG_TYPE_SOCKET_FILTER, Insns: returnZero(), License: "GPL", Name: "gobcc_zero"})
	if log != "" {
		t.Errorf("log without LogLevel: %q", log)
	}
	requireCloexec(t, fd)
	info, err := ProgInfoByFD(fd)
	if err != nil {
		t.Fatal(err)
	}
	if info.Type != unix.BPF_PROG_TYPE_SOCKET_FILTER || info.Name != "gobcc_zero" || info.ID == 0 {
		t.Errorf("ProgInfoByFD = %+v", info)
	}
	if info.XlatedLen != 16 || info.Tag == [8]byte{} || !info.GPLCompatible || info.LoadTime == 0 {
		t.Errorf("xlated %d, tag %x, gpl %v, load time %d", info.XlatedLen, info.Tag, info.GPLCompatible, info.LoadTime)
	}
	if !info.HasVerifiedInsns || info.VerifiedInsns != 2 {
		t.Errorf("verified insns %d (known %v), want 2", info.VerifiedInsns, info.HasVerifiedInsns)
	}
	if len(info.MapIDs) != 0 {
		t.Errorf("map ids %v for a program without maps", info.MapIDs)
	}
	ids, err := ProgIDs()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ids, info.ID) || !slices.IsSorted(ids) {
		t.Errorf("ProgIDs() = %v, want sorted and containing %d", ids, info.ID)
	}
	byID, err := ProgGetFDByID(info.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(byID)
	requireCloexec(t, byID)
	again, err := ProgInfoByFD(byID)
	if err != nil || again.ID != info.ID || again.Tag != info.Tag {
		t.Errorf("ProgGetFDByID opened %+v, %v", again, err)
	}
	if _, err := ProgGetFDByID(1<<32 - 2); !errors.Is(err, ErrNoSuchObject) {
		t.Errorf("ProgGetFDByID(unused id): %v, want ErrNoSuchObject", err)
	}
}

func TestProgLoadRejectedReturnsLog(t *testing.T) {
	testutil.RequireRoot(t)
	before := openFDs(t)
	bad := append(insn(0xff, 0, 0, 0, 0), returnZero()...) // 0xff is no opcode
	fd, log, err := ProgLoad(ProgLoadAttr{Type: unix.BPF_PROG_TYPE_SOCKET_FILTER, Insns: bad, License: "GPL"})
	if err == nil {
		unix.Close(fd)
		t.Fatal("invalid opcode loaded")
	}
	if fd != -1 || !errors.Is(err, unix.EINVAL) {
		t.Errorf("ProgLoad = %d, %v; want -1, EINVAL", fd, err)
	}
	if !strings.Contains(log, "unknown opcode") {
		t.Errorf("verifier log %q lacks the reason", log)
	}
	// Falling off the end without exit is a verifier (EACCES or EINVAL)
	// rejection; the log must say where.
	_, log, err = ProgLoad(ProgLoadAttr{Type: unix.BPF_PROG_TYPE_SOCKET_FILTER, Insns: insn(opMovImm, 0, 0, 0, 0), License: "GPL"})
	if err == nil || log == "" {
		t.Errorf("program without exit: %v, log %q", err, log)
	}
	if _, _, err := ProgLoad(ProgLoadAttr{Type: unix.BPF_PROG_TYPE_SOCKET_FILTER, Insns: []byte{1, 2, 3}}); !errors.Is(err, unix.EINVAL) {
		t.Errorf("3 bytes of instructions: %v, want EINVAL", err)
	}
	if after := openFDs(t); after != before {
		t.Errorf("open fds went from %d to %d", before, after)
	}
}

func TestProgLoadLogGrows(t *testing.T) {
	var insns []byte
	for range 100 {
		insns = append(insns, insn(opMovImm, 0, 0, 0, 0)...)
	}
	insns = append(insns, insn(opExit, 0, 0, 0, 0)...)
	// 128 bytes is far too small for a level-2 log of 101 instructions.
	_, log := loadProg(t, ProgLoadAttr{Type: unix.BPF_PROG_TYPE_SOCKET_FILTER, Insns: insns, License: "GPL", LogLevel: 2, LogSize: 128})
	if len(log) <= 128 || !strings.Contains(log, "processed 101 insns") {
		t.Errorf("log of %d bytes: %q", len(log), log)
	}
}

// counterProg adds 1 to the u64 at key 0 of the array mapFD on every run.
func counterProg(mapFD int) []byte {
	var p []byte
	for _, b := range [][]byte{
		insn(opStMemW, 10, 0, -4, 0),                                // *(u32 *)(r10 - 4) = 0
		insn(opLdImm64, 1, unix.BPF_PSEUDO_MAP_FD, 0, int32(mapFD)), // r1 = map
		insn(0, 0, 0, 0, 0),
		insn(opMovReg, 2, 10, 0, 0),                // r2 = r10
		insn(opAddImm, 2, 0, 0, -4),                // r2 -= 4
		insn(opCall, 0, 0, 0, helperMapLookupElem), // r0 = &value or NULL
		insn(opJeqImm, 0, 0, 2, 0),                 // if r0 == 0 skip the add
		insn(opMovImm, 1, 0, 0, 1),                 // r1 = 1
		insn(opAtomicDW, 0, 1, 0, 0),               // lock *(u64 *)(r0) += r1
		returnZero(),
	} {
		p = append(p, b...)
	}
	return p
}

func TestRawTracepointOpen(t *testing.T) {
	counter := newMap(t, unix.BPF_MAP_TYPE_ARRAY, 4, 8, 1, 0)
	prog, _ := loadProg(t, ProgLoadAttr{Type: unix.BPF_PROG_TYPE_RAW_TRACEPOINT, Insns: counterProg(counter), License: "GPL", Name: "gobcc_count"})
	info, err := ProgInfoByFD(prog)
	if err != nil {
		t.Fatal(err)
	}
	mapInfo, err := MapInfoByFD(counter)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(info.MapIDs, []uint32{mapInfo.ID}) {
		t.Errorf("program map ids %v, want [%d]", info.MapIDs, mapInfo.ID)
	}

	link, err := RawTracepointOpen("sys_enter", prog)
	if err != nil {
		t.Fatal(err)
	}
	linkOpen := true
	defer func() {
		if linkOpen {
			unix.Close(link)
		}
	}()
	requireCloexec(t, link)
	linkInfo, err := LinkInfoByFD(link)
	if err != nil {
		t.Fatal(err)
	}
	if linkInfo.ProgID != info.ID || linkInfo.Type != unix.BPF_LINK_TYPE_RAW_TRACEPOINT {
		t.Errorf("LinkInfoByFD = %+v, want prog %d", linkInfo, info.ID)
	}
	links, err := LinkIDs()
	if err != nil || !slices.Contains(links, linkInfo.ID) {
		t.Errorf("LinkIDs() = %v, %v; want it to contain %d", links, err, linkInfo.ID)
	}

	for range 100 {
		unix.Getppid()
	}
	value := make([]byte, 8)
	if err := MapLookup(counter, u32(0), value); err != nil {
		t.Fatal(err)
	}
	if bytesToU64(value) < 100 {
		t.Errorf("counter %d after 100 syscalls", bytesToU64(value))
	}

	// Closing the link detaches the program: the counter must freeze.
	unix.Close(link)
	linkOpen = false
	if err := MapLookup(counter, u32(0), value); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		unix.Getppid()
	}
	after := make([]byte, 8)
	if err := MapLookup(counter, u32(0), after); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(value, after) {
		t.Errorf("counter moved from %d to %d after detach", bytesToU64(value), bytesToU64(after))
	}

	if _, err := RawTracepointOpen("no_such_tracepoint_gobcc", prog); !errors.Is(err, unix.ENOENT) {
		t.Errorf("unknown tracepoint: %v, want ENOENT", err)
	}
}
