package bpfobj

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/gobcc/gobcc/internal/testutil"
)

// insn encodes one 8-byte BPF instruction.
func insn(op byte, dst, src byte, off int16, imm int32) []byte {
	b := make([]byte, 8)
	b[0] = op
	b[1] = src<<4 | dst
	binary.LittleEndian.PutUint16(b[2:], uint16(off))
	binary.LittleEndian.PutUint32(b[4:], uint32(imm))
	return b
}

// sampleObject has two functions; the first loads map "counts" (module fd 7)
// and "events" (module fd 9), the second loads nothing.
func sampleObject() *Object {
	var prog []byte
	prog = append(prog, insn(opLdImm64, 1, pseudoMapFD, 0, 7)...)
	prog = append(prog, insn(0, 0, 0, 0, 0)...)
	prog = append(prog, insn(opLdImm64, 2, pseudoMapFD, 0, 9)...)
	prog = append(prog, insn(0, 0, 0, 0, 0)...)
	prog = append(prog, insn(0xb7, 0, 0, 0, 0)...) // mov r0, 0
	prog = append(prog, insn(0x95, 0, 0, 0, 0)...) // exit
	var other []byte
	other = append(other, insn(0xb7, 0, 0, 0, 1)...)
	other = append(other, insn(0x95, 0, 0, 0, 0)...)
	return &Object{
		License: "GPL", KernVersion: 0x060100, LibbccVersion: "0.26.0",
		KernelRelease: "6.18.0-test", Source: "test.c",
		Maps: []Map{
			{Name: "counts", Type: 1, KeySize: 8, ValueSize: 8, MaxEntries: 10240, KeyDesc: `"unsigned long long"`, LeafDesc: `"unsigned long"`, ModuleFD: 7},
			{Name: "events", Type: 4, KeySize: 4, ValueSize: 4, MaxEntries: 2, KeyDesc: `"int"`, LeafDesc: `"int"`, Fields: []string{"pid", "comm"}, ModuleFD: 9},
		},
		Functions: []Function{
			{Name: "tracepoint__kmem__kmalloc", Insns: prog},
			{Name: "helper_fn", Insns: other},
		},
	}
}

func TestRoundTrip(t *testing.T) {
	in := sampleObject()
	data, err := Write(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Read(data)
	if err != nil {
		t.Fatal(err)
	}
	if out.License != "GPL" || out.KernVersion != 0x060100 || out.LibbccVersion != "0.26.0" || out.KernelRelease != "6.18.0-test" || out.Source != "test.c" {
		t.Errorf("header fields: %+v", out)
	}
	if len(out.Maps) != 2 || out.Maps[1].Name != "events" || out.Maps[1].Fields[1] != "comm" || out.Maps[0].KeyDesc != `"unsigned long long"` || out.Maps[0].MaxEntries != 10240 {
		t.Errorf("maps: %+v", out.Maps)
	}
	if len(out.Functions) != 2 || out.Functions[0].Section != "tracepoint/kmem/kmalloc" || out.Functions[1].Section != "gobcc/helper_fn" {
		t.Fatalf("functions: %+v", out.Functions)
	}
	want := []MapRef{{Insn: 0, Map: 0}, {Insn: 2, Map: 1}}
	if got := out.Functions[0].MapRefs; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("map refs %+v, want %+v", got, want)
	}
	insns, err := Relocate(out.Functions[0], []int{33, 44})
	if err != nil {
		t.Fatal(err)
	}
	// Relocated with fds 7 and 9, the instructions are the input's again.
	back, _ := Relocate(out.Functions[0], []int{7, 9})
	if !bytes.Equal(back, in.Functions[0].Insns) {
		t.Errorf("relocated instructions differ from the compiled ones:\n%x\n%x", back, in.Functions[0].Insns)
	}
	if imm := int32(binary.LittleEndian.Uint32(insns[4:])); imm != 33 || insns[1]>>4 != pseudoMapFD {
		t.Errorf("first map load: imm %d src %d", imm, insns[1]>>4)
	}
}

func TestWriteRefusesUnknownMapFD(t *testing.T) {
	obj := sampleObject()
	obj.Maps = obj.Maps[:1] // fd 9 is no longer a table
	if _, err := Write(obj); err == nil || !strings.Contains(err.Error(), "map descriptor 9") {
		t.Fatalf("err = %v, want a complaint about descriptor 9", err)
	}
}

// TestCiliumReadsObject: the libbpf world's loader parses the object:
// programs by section, maps with their sizes, relocations to those maps.
func TestCiliumReadsObject(t *testing.T) {
	data, err := Write(sampleObject())
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("cilium/ebpf: %v", err)
	}
	m := spec.Maps["counts"]
	if m == nil || m.Type != ebpf.Hash || m.KeySize != 8 || m.ValueSize != 8 || m.MaxEntries != 10240 {
		t.Errorf("map counts: %+v", m)
	}
	p := spec.Programs["tracepoint__kmem__kmalloc"]
	if p == nil {
		t.Fatalf("programs: %v", spec.Programs)
	}
	if p.Type != ebpf.TracePoint || p.SectionName != "tracepoint/kmem/kmalloc" || p.License != "GPL" {
		t.Errorf("program: type %v section %q license %q", p.Type, p.SectionName, p.License)
	}
	var refs []string
	for _, ins := range p.Instructions {
		if ref := ins.Reference(); ref != "" && ins.OpCode == asm.LoadImmOp(asm.DWord) {
			refs = append(refs, ref)
		}
	}
	if strings.Join(refs, ",") != "counts,events" {
		t.Errorf("map references %v, want counts,events", refs)
	}
}

// TestObjdumpDisassembles: llvm-objdump reads the object (skipped where
// LLVM's tools are not installed; setup.sh installs them).
func TestObjdumpDisassembles(t *testing.T) {
	objdump, err := exec.LookPath("llvm-objdump")
	if err != nil {
		matches, _ := filepath.Glob("/usr/bin/llvm-objdump-*")
		if len(matches) == 0 {
			testutil.RequireKernel(t, "llvm-objdump not installed (setup.sh installs llvm)")
		}
		objdump = matches[0]
	}
	data, err := Write(sampleObject())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "x.o")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(objdump, "-d", "-r", path).CombinedOutput()
	if err != nil {
		t.Fatalf("llvm-objdump: %v\n%s", err, out)
	}
	for _, want := range []string{"tracepoint/kmem/kmalloc", "<tracepoint__kmem__kmalloc>:", "R_BPF_64_64\tcounts", "exit"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("llvm-objdump output lacks %q:\n%s", want, out)
		}
	}
}

func TestReadRejects(t *testing.T) {
	good, err := Write(sampleObject())
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte { b := bytes.Clone(good); b[i] ^= 0x40; return b }
	meta := bytes.Index(good, []byte(`{"format":`))
	cases := map[string][]byte{
		"empty":           nil,
		"truncated":       good[:len(good)/2],
		"header only":     good[:64],
		"flipped insn":    flip(bytes.Index(good, insn(0x95, 0, 0, 0, 0))),
		"flipped meta":    flip(meta + 20),
		"not elf":         []byte("this is not an object file at all, just text"),
		"wrong version":   bytes.Replace(good, []byte(`{"format":1`), []byte(`{"format":7`), 1),
		"wrong arch":      bytes.Replace(good, []byte(`"arch":"`+hostArch+`"`), []byte(`"arch":"`+strings.Repeat("x", len(hostArch))+`"`), 1),
		"flipped license": flip(bytes.Index(good, []byte("GPL\x00"))),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			obj, err := Read(data)
			if err == nil {
				t.Fatalf("Read accepted a bad object: %+v", obj)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestSectionFor(t *testing.T) {
	for name, want := range map[string]string{
		"tracepoint__sched__sched_switch": "tracepoint/sched/sched_switch",
		"raw_tracepoint__sys_enter":       "raw_tracepoint/sys_enter",
		"kprobe__do_sys_open":             "kprobe/do_sys_open",
		"kretprobe__do_sys_open":          "kretprobe/do_sys_open",
		"kfunc__vfs_read":                 "fentry/vfs_read",
		"kretfunc__vfs_read":              "fexit/vfs_read",
		"lsm__file_open":                  "lsm/file_open",
		"on_event":                        "gobcc/on_event",
		"kprobe__":                        "gobcc/kprobe__",
	} {
		if got := SectionFor(name); got != want {
			t.Errorf("SectionFor(%q) = %q, want %q", name, got, want)
		}
	}
}

func FuzzRead(f *testing.F) {
	good, err := Write(sampleObject())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:100])
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := Read(data)
		if err == nil {
			// Whatever is accepted must relocate without going out of range.
			fds := make([]int, len(obj.Maps))
			for _, fn := range obj.Functions {
				if _, err := Relocate(fn, fds); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
