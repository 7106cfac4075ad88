// Package kbtf answers questions about the running kernel's types from its
// BTF (/sys/kernel/btf/vmlinux), as BCC's kernel_struct_has_field does
// through libbpf.
package kbtf

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf/btf"
)

// ErrNoKernelBTF means the kernel describes no types (no
// CONFIG_DEBUG_INFO_BTF, or its BTF is unreadable).
var ErrNoKernelBTF = errors.New("no kernel BTF")

// StructHasField reports whether the running kernel's struct structName
// has a member fieldName, looking through anonymous structs and unions as
// C does. An unknown struct is an error.
func StructHasField(structName, fieldName string) (bool, error) {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrNoKernelBTF, err)
	}
	return specStructHasField(spec, structName, fieldName)
}

func specStructHasField(spec *btf.Spec, structName, fieldName string) (bool, error) {
	var st *btf.Struct
	if err := spec.TypeByName(structName, &st); err != nil {
		return false, fmt.Errorf("struct %s: %w", structName, err)
	}
	return HasMember(st.Members, fieldName), nil
}

// HasMember reports whether members, or the members of an anonymous struct
// or union among them, include name: C reaches those by name as if they
// were the outer struct's.
func HasMember(members []btf.Member, name string) bool {
	for _, m := range members {
		if m.Name == name {
			return true
		}
		if m.Name == "" {
			switch t := btf.UnderlyingType(m.Type).(type) {
			case *btf.Struct:
				if HasMember(t.Members, name) {
					return true
				}
			case *btf.Union:
				if HasMember(t.Members, name) {
					return true
				}
			}
		}
	}
	return false
}

// MemberOffset finds a member's byte offset in struct structName, looking
// inside anonymous structs and unions as C does.
func MemberOffset(spec *btf.Spec, structName, member string) (int, error) {
	var s *btf.Struct
	if err := spec.TypeByName(structName, &s); err != nil {
		return 0, err
	}
	if off, ok := findMember(s.Members, member, 0); ok {
		return int(off / 8), nil
	}
	return 0, fmt.Errorf("struct %s has no member %s", structName, member)
}

// findMember returns the bit offset of name among members, base being the
// offset of the struct or union that holds them.
func findMember(members []btf.Member, name string, base btf.Bits) (btf.Bits, bool) {
	for _, m := range members {
		if m.Name == name {
			return base + m.Offset, true
		}
		if m.Name != "" {
			continue
		}
		switch t := btf.UnderlyingType(m.Type).(type) {
		case *btf.Struct:
			if off, ok := findMember(t.Members, name, base+m.Offset); ok {
				return off, true
			}
		case *btf.Union:
			if off, ok := findMember(t.Members, name, base+m.Offset); ok {
				return off, true
			}
		}
	}
	return 0, false
}
