package bcc

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/gobcc/gobcc/internal/disasm"
)

// DumpFunc returns the BPF instructions of function name as compiled,
// before the verifier saw them (BCC's dump_func): 8 bytes per
// instruction, map references holding the compile helper's descriptor
// numbers. The function need not be loaded. The caller owns the copy.
//
// A program that came from the compile cache or from Options.Object was
// not compiled by this call: its map loads are as the object stores them
// (register and immediate zero; the object's relocations name the map).
// Options.NoCache gives BCC's form.
func (b *BPF) DumpFunc(name string) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	for _, f := range b.result.Functions {
		if f.Name == name {
			return bytes.Clone(f.Insns), nil
		}
	}
	return nil, fmt.Errorf("%w: %q (the program has %s)", ErrFunctionNotFound, name, strings.Join(b.FunctionNames(), ", "))
}

// DisassembleFunc returns function name's instructions as text, line for
// line as BCC's disassemble_func prints them:
//
//	Disassemble of BPF program on_tick:
//	   0: (bf) r6 = r1
//	   1: (85) call bpf_get_current_pid_tgid#14
//
// Lines are separated by "\n". One difference: BCC numbers the second
// half of a 64-bit load with the next instruction's index, so two lines
// carry that number; here it has its own, which jump targets count.
func (b *BPF) DisassembleFunc(name string) (string, error) {
	insns, err := b.DumpFunc(name)
	if err != nil {
		return "", err
	}
	return DisassembleInsns(name, insns)
}

// DisassembleInsns disassembles raw BPF instructions (little-endian, as
// DumpFunc returns them) in BCC's format; name goes in the heading.
// Instructions are decoded with cilium/ebpf's asm package; opcodes BCC's
// disassembler does not know (atomics, sign extension, calls of helpers
// newer than its list) are printed as asm prints them instead of BCC's
// "unknown".
func DisassembleInsns(name string, insns []byte) (string, error) { return disasm.Insns(name, insns) }
