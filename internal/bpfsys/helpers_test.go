//go:build linux

package bpfsys

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/testutil"
)

// newMap creates a map closed at the end of the test.
func newMap(tb testing.TB, mapType, keySize, valueSize, maxEntries, flags uint32) int {
	tb.Helper()
	testutil.RequireRoot(tb)
	fd, err := MapCreate(mapType, keySize, valueSize, maxEntries, flags, "gobcc_test")
	if err != nil {
		tb.Fatalf("MapCreate(type %d): %v", mapType, err)
	}
	tb.Cleanup(func() { unix.Close(fd) })
	return fd
}

// u32 and u64 encode little test keys and values in host order.
func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.NativeEndian.AppendUint64(nil, v) }

// insn encodes one BPF instruction (little-endian register nibbles).
func insn(code, dst, src uint8, off int16, imm int32) []byte {
	b := []byte{code, dst | src<<4, 0, 0, 0, 0, 0, 0}
	binary.NativeEndian.PutUint16(b[2:], uint16(off))
	binary.NativeEndian.PutUint32(b[4:], uint32(imm))
	return b
}

// Instruction opcodes the tests assemble by hand.
const (
	opMovImm            = 0xb7 // BPF_ALU64 | BPF_MOV | BPF_K
	opMovReg            = 0xbf // BPF_ALU64 | BPF_MOV | BPF_X
	opAddImm            = 0x07 // BPF_ALU64 | BPF_ADD | BPF_K
	opExit              = 0x95 // BPF_JMP | BPF_EXIT
	opCall              = 0x85 // BPF_JMP | BPF_CALL
	opJeqImm            = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
	opLdImm64           = 0x18 // BPF_LD | BPF_IMM | BPF_DW
	opStMemW            = 0x62 // BPF_ST | BPF_MEM | BPF_W
	opAtomicDW          = 0xdb // BPF_STX | BPF_ATOMIC | BPF_DW
	helperMapLookupElem = 1
)

// returnZero is "r0 = 0; exit".
func returnZero() []byte {
	return append(insn(opMovImm, 0, 0, 0, 0), insn(opExit, 0, 0, 0, 0)...)
}

// openFDs counts this process's open descriptors.
func openFDs(tb testing.TB) int { return testutil.CountFDs(tb) }

// requireCloexec fails unless fd has FD_CLOEXEC set.
func requireCloexec(tb testing.TB, fd int) {
	tb.Helper()
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil {
		tb.Fatal(err)
	}
	if flags&unix.FD_CLOEXEC == 0 {
		tb.Errorf("fd %d lacks FD_CLOEXEC", fd)
	}
}
