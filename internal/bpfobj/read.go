package bpfobj

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
)

// MaxObjectSize bounds what Read accepts: BPF programs are at most a
// million instructions each, and a BCC program has a handful of functions.
const MaxObjectSize = 256 << 20

// Read decodes and checks an object written by Write. Instructions come back
// with zero in the immediates of map loads, and MapRefs naming the maps.
func Read(data []byte) (obj *Object, err error) {
	if len(data) > MaxObjectSize {
		return nil, fmt.Errorf("%w: %d bytes is larger than %d", ErrInvalid, len(data), MaxObjectSize)
	}
	// debug/elf is robust against most malformed input, but it has panicked
	// on crafted files in the past; a bad object must be an error.
	defer func() {
		if r := recover(); r != nil {
			obj, err = nil, fmt.Errorf("%w: malformed ELF: %v", ErrInvalid, r)
		}
	}()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB || f.Machine != elf.EM_BPF || f.Type != elf.ET_REL {
		return nil, fmt.Errorf("%w: not a 64-bit little-endian BPF relocatable object (class %v, data %v, machine %v, type %v)", ErrInvalid, f.Class, f.Data, f.Machine, f.Type)
	}
	ms := f.Section(MetaSection)
	if ms == nil {
		return nil, fmt.Errorf("%w: no %s section: not written by gobcc build", ErrInvalid, MetaSection)
	}
	metaJSON, err := sectionData(ms, data)
	if err != nil {
		return nil, err
	}
	var m meta
	if err := json.Unmarshal(metaJSON, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, MetaSection, err)
	}
	if m.Format != FormatVersion {
		return nil, fmt.Errorf("%w: format version %d, this gobcc reads version %d (rebuild the object)", ErrInvalid, m.Format, FormatVersion)
	}
	if m.Arch != hostArch {
		return nil, fmt.Errorf("%w: compiled for %s, this machine is %s", ErrInvalid, m.Arch, hostArch)
	}
	if err := verifyChecksum(data, ms, metaJSON, m.Checksum); err != nil {
		return nil, err
	}

	obj = &Object{
		LibbccVersion: m.LibbccVersion, Arch: m.Arch,
		KernelRelease: m.KernelRelease, Source: m.Source,
	}
	if s := f.Section("license"); s != nil {
		b, err := sectionData(s, data)
		if err != nil {
			return nil, err
		}
		obj.License = string(bytes.TrimRight(b, "\x00"))
	}
	if s := f.Section("version"); s != nil {
		b, err := sectionData(s, data)
		if err != nil {
			return nil, err
		}
		if len(b) != 4 {
			return nil, fmt.Errorf("%w: version section of %d bytes", ErrInvalid, len(b))
		}
		obj.KernVersion = binary.LittleEndian.Uint32(b)
	}
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("%w: symbols: %w", ErrInvalid, err)
	}
	if err := readMaps(f, data, syms, m.Maps, obj); err != nil {
		return nil, err
	}
	if err := readFunctions(f, data, syms, m.Functions, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

func sectionData(s *elf.Section, file []byte) ([]byte, error) {
	if s.Type == elf.SHT_NOBITS {
		return nil, nil
	}
	if s.Offset > uint64(len(file)) || s.Size > uint64(len(file))-s.Offset {
		return nil, fmt.Errorf("%w: section %s runs past the end of the file", ErrInvalid, s.Name)
	}
	b, err := io.ReadAll(s.Open())
	if err != nil {
		return nil, fmt.Errorf("%w: section %s: %w", ErrInvalid, s.Name, err)
	}
	return b, nil
}

func verifyChecksum(data []byte, ms *elf.Section, metaJSON []byte, sum checksumText) error {
	want, err := hex.DecodeString(string(sum))
	if err != nil || len(want) != sha256.Size {
		return fmt.Errorf("%w: checksum %q is not a SHA-256", ErrInvalid, sum)
	}
	i := checksumIndex(metaJSON, sum)
	if i < 0 {
		return fmt.Errorf("%w: checksum not found in %s", ErrInvalid, MetaSection)
	}
	zeroed := bytes.Clone(data)
	off := ms.Offset + uint64(i)
	copy(zeroed[off:off+uint64(len(zeroChecksum))], zeroChecksum)
	got := sha256.Sum256(zeroed)
	if !bytes.Equal(got[:], want) {
		return fmt.Errorf("%w: checksum mismatch (the file is corrupt or was changed after gobcc wrote it)", ErrInvalid)
	}
	return nil
}

func readMaps(f *elf.File, data []byte, syms []elf.Symbol, maps []Map, obj *Object) error {
	mapsIdx, size := -1, uint64(0)
	for i, s := range f.Sections {
		if s.Name == ".maps" {
			mapsIdx, size = i, s.Size
		}
	}
	if size != uint64(len(maps)*mapDefSize) {
		return fmt.Errorf("%w: .maps section holds %d bytes for %d tables", ErrInvalid, size, len(maps))
	}
	for i, m := range maps {
		if !hasSymbol(syms, m.Name, mapsIdx, uint64(i*mapDefSize)) {
			return fmt.Errorf("%w: map %s has no symbol", ErrInvalid, m.Name)
		}
		m.ModuleFD = 0
		obj.Maps = append(obj.Maps, m)
	}
	return nil
}

func hasSymbol(syms []elf.Symbol, name string, section int, value uint64) bool {
	for _, s := range syms {
		if s.Name == name && int(s.Section) == section && s.Value == value {
			return true
		}
	}
	return false
}

func readFunctions(f *elf.File, data []byte, syms []elf.Symbol, funcs []metaFunc, obj *Object) error {
	mapBySym := make(map[int]int) // symbol index (1-based as in relocations) -> map
	for i, s := range syms {
		if elf.ST_TYPE(s.Info) != elf.STT_OBJECT {
			continue
		}
		for j, m := range obj.Maps {
			if s.Name == m.Name && s.Value == uint64(j*mapDefSize) {
				mapBySym[i+1] = j // f.Symbols drops the null symbol
			}
		}
	}
	for _, mf := range funcs {
		idx := -1
		for i, s := range f.Sections {
			if s.Name == mf.Section && s.Flags&elf.SHF_EXECINSTR != 0 {
				idx = i
			}
		}
		if idx < 0 {
			return fmt.Errorf("%w: function %s: no section %q", ErrInvalid, mf.Name, mf.Section)
		}
		insns, err := sectionData(f.Sections[idx], data)
		if err != nil {
			return err
		}
		if len(insns) == 0 || len(insns)%insnSize != 0 {
			return fmt.Errorf("%w: function %s: %d bytes of instructions", ErrInvalid, mf.Name, len(insns))
		}
		if !hasSymbol(syms, mf.Name, idx, 0) {
			return fmt.Errorf("%w: function %s has no symbol", ErrInvalid, mf.Name)
		}
		fn := Function{Name: mf.Name, Section: mf.Section, Insns: insns}
		for _, rs := range f.Sections {
			if rs.Type != elf.SHT_REL || int(rs.Info) != idx {
				continue
			}
			rels, err := sectionData(rs, data)
			if err != nil {
				return err
			}
			if len(rels)%relSize != 0 {
				return fmt.Errorf("%w: %s: %d bytes is not a whole number of relocations", ErrInvalid, rs.Name, len(rels))
			}
			for r := 0; r < len(rels); r += relSize {
				off := binary.LittleEndian.Uint64(rels[r:])
				info := binary.LittleEndian.Uint64(rels[r+8:])
				sym, typ := int(info>>32), uint32(info)
				m, ok := mapBySym[sym]
				switch {
				case typ != relBPF64:
					return fmt.Errorf("%w: %s: relocation type %d", ErrInvalid, rs.Name, typ)
				case !ok:
					return fmt.Errorf("%w: %s: relocation against symbol %d, which is not a map", ErrInvalid, rs.Name, sym)
				case off%insnSize != 0 || off+2*insnSize > uint64(len(insns)) || insns[off] != opLdImm64:
					return fmt.Errorf("%w: %s: relocation at byte %d is not on a 64-bit immediate load", ErrInvalid, rs.Name, off)
				}
				fn.MapRefs = append(fn.MapRefs, MapRef{Insn: int(off / insnSize), Map: m})
			}
		}
		obj.Functions = append(obj.Functions, fn)
	}
	return nil
}

// Relocate returns fn's instructions with each map reference loading the
// descriptor fds[ref.Map] (src_reg BPF_PSEUDO_MAP_FD), ready for
// BPF_PROG_LOAD.
func Relocate(fn Function, fds []int) ([]byte, error) {
	insns := bytes.Clone(fn.Insns)
	for _, r := range fn.MapRefs {
		if r.Map < 0 || r.Map >= len(fds) {
			return nil, fmt.Errorf("bpfobj: function %s: map %d out of range", fn.Name, r.Map)
		}
		off := r.Insn * insnSize
		insns[off+1] = insns[off+1]&0x0f | pseudoMapFD<<4
		binary.LittleEndian.PutUint32(insns[off+4:], uint32(int32(fds[r.Map])))
	}
	return insns, nil
}
