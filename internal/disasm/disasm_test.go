package disasm

import (
	"encoding/binary"
	"encoding/hex"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

// TestMain fails the package's run when its tests leave a descriptor,
// goroutine or child process behind.
func TestMain(m *testing.M) { testutil.LeakCheckMain(m) }

func insn(op, dst, src byte, off int16, imm int32) []byte {
	b := []byte{op, src<<4 | dst&0xf, 0, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint16(b[2:], uint16(off))
	binary.LittleEndian.PutUint32(b[4:], uint32(imm))
	return b
}

// TestMatchesBCC disassembles every opcode of BCC's table, each with
// registers, offsets and immediates of both signs, and compares the text
// with BCC Python's disassembler given the same bytes.
func TestMatchesBCC(t *testing.T) {
	var prog []byte
	ops := make([]byte, 0, len(bccOpcodes))
	for op := range bccOpcodes {
		if op != 0x18 { // lddw last: BCC numbers its halves differently
			ops = append(ops, op)
		}
	}
	slices.Sort(ops)
	for i, op := range ops {
		off, imm := int16(i*3-40), int32(i*1000-7000)
		if bccOpcodes[op].class == "call" {
			imm = int32(i % 40)
		}
		prog = append(prog, insn(op, byte(i%10), byte((i+3)%10), off, imm)...)
	}
	prog = append(prog, insn(0x85, 0, 0, 0, 181)...) // a helper newer than BCC's list
	prog = append(prog, insn(0x85, 0, 1, 0, -5)...)  // a BPF-to-BPF call
	prog = append(prog, insn(0x18, 1, 1, 0, 7)...)   // a map reference
	prog = append(prog, insn(0, 0, 0, 0, 0)...)      // its upper half
	prog = append(prog, insn(0x95, 0, 0, 0, 0)...)   // BCC decodes the last instruction alone: a known one
	got, err := Insns("f", prog)
	if err != nil {
		t.Fatal(err)
	}
	script := `import sys; from bcc.disassembler import disassemble_prog; print(disassemble_prog("f", bytes.fromhex(sys.argv[1])))`
	out, err := exec.Command("/usr/bin/python3", "-c", script, hex.EncodeToString(prog)).CombinedOutput()
	if err != nil {
		testutil.RequireKernel(t, "BCC Python: %v\n%s", err, out)
	}
	want := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	gotLines := strings.Split(got, "\n")
	// helper 181 is past BCC's list ("unknown"); gobcc names it from asm.
	for i := range min(len(want), len(gotLines)) {
		if strings.Contains(want[i], "unknown helper") || strings.Contains(want[i], "64-bit upper word") {
			continue
		}
		if gotLines[i] != want[i] {
			t.Errorf("line %d: got %q, BCC %q", i, gotLines[i], want[i])
		}
	}
	if len(gotLines) != len(want) {
		t.Errorf("%d lines, BCC %d:\n%s\nBCC:\n%s", len(gotLines), len(want), got, out)
	}
}

func TestLddwConstantAndTruncation(t *testing.T) {
	prog := append(append(insn(0x18, 1, 0, 0, 2), insn(0, 0, 0, 0, 1)...), insn(0x95, 0, 0, 0, 0)...)
	got, err := Insns("f", prog)
	if err != nil {
		t.Fatal(err)
	}
	want := "Disassemble of BPF program f:\n   0: (18) r1 = 0x100000002\n   1:      (64-bit upper word)\n   2: (95) exit"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got, err := Insns("f", prog[:8]); err != nil || !strings.HasSuffix(got, "lddw requires two instructions to be disassembled") {
		t.Errorf("truncated lddw: %q, %v", got, err)
	}
	if _, err := Insns("f", prog[:5]); err == nil {
		t.Error("5 bytes: want an error")
	}
}

func TestHelperNameFromAsm(t *testing.T) {
	if name, ok := helperName(130); !ok || name != "ringbuf_output" {
		t.Errorf("helper 130 = %q, %v", name, ok)
	}
	if name, ok := helperName(1); !ok || name != "map_lookup_elem" {
		t.Errorf("helper 1 = %q, %v", name, ok)
	}
}
