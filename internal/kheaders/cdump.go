package kheaders

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// Excluded are the type and constant names a generated header must leave
// out because libbcc's own headers (its copy of uapi/linux/bpf.h and
// helpers.h, included before any kernel header) define them too.
type Excluded struct {
	// Tags are struct, union and enum names.
	Tags map[string]bool
	// Idents are enumerator names and macro names: an enum with one of
	// them is left out whole (a macro of that name would break its
	// definition, an enumerator would be defined twice).
	Idents map[string]bool
	// Typedefs are typedef names.
	Typedefs map[string]bool
	// HeaderTags, when not empty, are the struct and union tags kernel
	// headers define. Other tags of the BTF are private to .c files
	// (nameidata, mnt_namespace): programs declare their own copy, which
	// must not collide, so they are treated like libbcc's (declared, and
	// defined under another name only where other types embed them).
	HeaderTags map[string]bool
}

// dumper writes BTF types as C declarations that clang lays out exactly as
// the BTF says, in the BPF target's data layout too:
//
//   - holes are explicit "char __padN[k];" arrays (and unnamed bitfields
//     for holes that do not end on a byte), never "long: 64;" runs, which
//     clang merges into one wide integer whose 16-byte alignment in BPF's
//     layout moves the members that follow;
//   - a struct is packed when one of its members sits at an offset its
//     natural alignment would not give it, or its size is not a multiple
//     of its alignment;
//   - an enum used as a member's type is written as the integer type of
//     its size unless it is a 4-byte enum this header defines, so members
//     keep their size whatever clang would choose for the enum;
//   - names defined twice in the BTF (different types of the same name,
//     from different compilation units or modules) get a ___N suffix, as
//     bpftool does.
type dumper struct {
	w        *bufio.Writer
	excluded Excluded

	tagName     map[btf.Type]string
	ordName     map[btf.Type]string
	usedTags    map[string]int
	usedOrd     map[string]int
	enumEmitted map[*btf.Enum]bool
	enumerators map[*btf.Enum][]string

	state  map[btf.Type]int // 1: in progress, 2: written
	layout map[btf.Type]compositeLayout
	pads   int
	// pointee is set while decl renders the target of a pointer.
	pointee bool
	// rec, when set, records each definition of vmlinux.h with what it
	// needs, for the type index (subset.go).
	rec *indexRecorder
}

// copySuffix names this header's copy of a struct libbcc defines: libbcc's
// bpf.h includes linux/types.h before its own definitions, so kernel
// structs that embed one of them (bpf_prog embeds bpf_insn) use the copy,
// and pointers use libbcc's name.
const copySuffix = "___btf"

type compositeLayout struct {
	packed bool
	align  int
}

func newDumper(w io.Writer, excluded Excluded) *dumper {
	return &dumper{
		w:           bufio.NewWriterSize(w, 1<<20),
		excluded:    excluded,
		tagName:     map[btf.Type]string{},
		ordName:     map[btf.Type]string{},
		usedTags:    map[string]int{},
		usedOrd:     map[string]int{},
		enumEmitted: map[*btf.Enum]bool{},
		enumerators: map[*btf.Enum][]string{},
		state:       map[btf.Type]int{},
		layout:      map[btf.Type]compositeLayout{},
	}
}

// unique returns name, or name___N when an earlier type took it.
func unique(used map[string]int, name string) string {
	n := used[name]
	used[name] = n + 1
	if n == 0 {
		return name
	}
	for {
		cand := fmt.Sprintf("%s___%d", name, n+1)
		if used[cand] == 0 {
			used[cand] = 1
			return cand
		}
		n++
	}
}

// nameTypes gives every named type of types its C name, in order.
func (d *dumper) nameTypes(types []btf.Type) {
	byTag := map[string]btf.Type{}
	var fwds []*btf.Fwd
	for _, t := range types {
		switch t := t.(type) {
		case *btf.Struct, *btf.Union, *btf.Enum:
			name := t.TypeName()
			if name == "" {
				continue
			}
			d.tagName[t] = unique(d.usedTags, name)
			if _, ok := byTag[name]; !ok {
				byTag[name] = t
			}
		case *btf.Fwd:
			fwds = append(fwds, t)
		case *btf.Typedef:
			if t.Name != "" {
				d.ordName[t] = unique(d.usedOrd, t.Name)
			}
		}
	}
	for _, f := range fwds {
		if t, ok := byTag[f.Name]; ok {
			d.tagName[f] = d.tagName[t]
			continue
		}
		d.tagName[f] = f.Name
		byTag[f.Name] = f
		d.usedTags[f.Name]++
	}
	// Enumerators share the ordinary namespace with typedefs.
	for _, t := range types {
		e, ok := t.(*btf.Enum)
		if !ok || !d.enumWanted(e) {
			continue
		}
		names := make([]string, len(e.Values))
		for i, v := range e.Values {
			names[i] = unique(d.usedOrd, v.Name)
		}
		d.enumerators[e] = names
	}
}

// enumWanted says whether an enum is written: not when libbcc defines it or
// one of its enumerators.
func (d *dumper) enumWanted(e *btf.Enum) bool {
	if len(e.Values) == 0 {
		return false
	}
	if e.Name != "" && d.tagName[e] == e.Name && d.excluded.Tags[e.Name] {
		return false
	}
	for _, v := range e.Values {
		if d.excluded.Idents[v.Name] {
			return false
		}
	}
	return true
}

// compositeExcluded says whether a struct or union is libbcc's or the
// program's to define.
func (d *dumper) compositeExcluded(t btf.Type) bool {
	name := t.TypeName()
	if name == "" || d.tagName[t] != name {
		return false
	}
	return d.excluded.Tags[name] || (len(d.excluded.HeaderTags) > 0 && !d.excluded.HeaderTags[name])
}

func (d *dumper) typedefExcluded(td *btf.Typedef) bool {
	return d.ordName[td] == td.Name && (d.excluded.Typedefs[td.Name] || builtinTypedefs[td.Name])
}

// builtinTypedefs are clang's own names that BTF records as typedefs.
var builtinTypedefs = map[string]bool{"__builtin_va_list": true}

// isScalarTypedef says whether a typedef names an integer or floating type
// (u32, __be16, size_t, bool): these go to the small types.h that headers
// libbcc always includes get, instead of the whole of vmlinux.h.
func isScalarTypedef(t btf.Type) bool {
	td, ok := t.(*btf.Typedef)
	if !ok {
		return false
	}
	for t = td.Type; ; {
		switch u := t.(type) {
		case *btf.Typedef:
			t = u.Type
		case *btf.Const, *btf.Volatile, *btf.TypeTag:
			t = skipQualifiers(u)
		case *btf.Int, *btf.Float:
			return true
		default:
			return false
		}
	}
}

// dumpScalars writes the scalar typedefs (see isScalarTypedef) to w; dump
// then leaves them out.
func (d *dumper) dumpScalars(types []btf.Type, w io.Writer) error {
	d.nameTypes(types)
	main := d.w
	d.w = bufio.NewWriter(w)
	for _, t := range types {
		if isScalarTypedef(t) {
			d.define(t)
		}
	}
	err := d.w.Flush()
	d.w = main
	return err
}

// dump writes the declarations of all types but the scalar typedefs
// dumpScalars wrote before.
func (d *dumper) dump(types []btf.Type) error {
	for _, t := range types {
		if e, ok := t.(*btf.Enum); ok && d.enumerators[e] != nil {
			d.writeEnum(e)
		}
	}
	d.w.WriteString("\n")
	for _, t := range types {
		switch t.(type) {
		case *btf.Struct, *btf.Union:
			if t.TypeName() != "" {
				fmt.Fprintf(d.w, "%s %s;\n", keyword(t), d.tagName[t])
			}
		case *btf.Fwd:
			if d.tagName[t] == t.TypeName() {
				// A forward declaration of a type BTF never defines.
				fmt.Fprintf(d.w, "%s %s;\n", keyword(t), d.tagName[t])
			}
		}
	}
	d.w.WriteString("\n")
	for _, t := range types {
		switch t := t.(type) {
		case *btf.Struct, *btf.Union:
			if t.TypeName() != "" {
				d.define(t)
			}
		case *btf.Typedef:
			d.define(t)
		}
	}
	return d.w.Flush()
}

func keyword(t btf.Type) string {
	switch t := t.(type) {
	case *btf.Union:
		return "union"
	case *btf.Fwd:
		if t.Kind == btf.FwdUnion {
			return "union"
		}
	}
	return "struct"
}

func (d *dumper) writeEnum(e *btf.Enum) {
	d.enumEmitted[e] = true
	var b strings.Builder
	if e.Name != "" {
		fmt.Fprintf(&b, "enum %s {\n", d.tagName[e])
	} else {
		b.WriteString("enum {\n")
	}
	for i, v := range e.Values {
		fmt.Fprintf(&b, "\t%s = %s,\n", d.enumerators[e][i], enumValue(e, v.Value))
	}
	b.WriteString("};\n\n")
	d.w.WriteString(b.String())
	if d.rec != nil {
		names := append([]string(nil), d.enumerators[e]...)
		if e.Name != "" {
			names = append(names, d.tagName[e])
		}
		d.rec.add(e, b.String(), names, true)
	}
}

func enumValue(e *btf.Enum, v uint64) string {
	if e.Signed {
		switch e.Size {
		case 1:
			return fmt.Sprint(int8(v))
		case 2:
			return fmt.Sprint(int16(v))
		case 4:
			return fmt.Sprint(int32(v))
		}
		if int64(v) == -1<<63 {
			return "(-9223372036854775807LL - 1)"
		}
		return fmt.Sprintf("%dLL", int64(v))
	}
	if v > 1<<63-1 {
		return fmt.Sprintf("%dULL", v)
	}
	if v > 1<<31-1 {
		return fmt.Sprintf("%dLL", v)
	}
	return fmt.Sprint(v)
}

// require makes sure everything t needs has been written before t is used:
// the complete type when byValue, else a declaration (all named structs and
// unions are declared up front).
func (d *dumper) require(t btf.Type, byValue bool) {
	switch t := t.(type) {
	case *btf.Pointer:
		d.require(t.Target, false)
	case *btf.Array:
		d.require(t.Type, byValue)
	case *btf.Const:
		d.require(t.Type, byValue)
	case *btf.Volatile:
		d.require(t.Type, byValue)
	case *btf.Restrict:
		d.require(t.Type, byValue)
	case *btf.TypeTag:
		d.require(t.Type, byValue)
	case *btf.FuncProto:
		d.require(t.Return, false)
		for _, p := range t.Params {
			d.require(p.Type, false)
		}
	case *btf.Typedef:
		d.define(t)
		if byValue {
			d.require(t.Type, true)
		}
	case *btf.Struct, *btf.Union:
		if t.TypeName() == "" {
			for _, m := range members(t) {
				d.require(m.Type, true)
			}
		} else if byValue {
			d.define(t)
		}
	}
}

func members(t btf.Type) []btf.Member {
	switch t := t.(type) {
	case *btf.Struct:
		return t.Members
	case *btf.Union:
		return t.Members
	}
	return nil
}

// define writes a named struct, union or typedef once, after what it needs.
func (d *dumper) define(t btf.Type) {
	if d.state[t] != 0 {
		return
	}
	d.state[t] = 1
	switch t := t.(type) {
	case *btf.Typedef:
		if d.typedefExcluded(t) {
			break
		}
		if isAnonComposite(t.Type) {
			d.require(t.Type, true)
		} else {
			d.require(t.Type, false)
		}
		d.rec.begin()
		text := fmt.Sprintf("typedef %s;\n\n", d.decl(t.Type, d.ordName[t], 0))
		d.w.WriteString(text)
		if d.rec != nil {
			if tgt := derefTarget(t.Type); tgt != nil {
				// A typedef of a pointer is dereferenced as such: what it
				// points to must be complete.
				d.rec.cur.needs = append(d.rec.cur.needs, tgt)
			}
			d.rec.add(t, text, []string{d.ordName[t]}, false)
		}
	case *btf.Struct, *btf.Union:
		for _, m := range members(t) {
			d.require(m.Type, true)
		}
		d.rec.begin()
		text := fmt.Sprintf("%s;\n\n", d.body(t, 0))
		d.w.WriteString(text)
		if d.rec != nil {
			name := d.tagName[t]
			if d.compositeExcluded(t) {
				name += copySuffix
			}
			d.rec.add(t, text, []string{name}, false)
		}
	}
	d.state[t] = 2
}

func isAnonComposite(t btf.Type) bool {
	t = skipQualifiers(t)
	switch t.(type) {
	case *btf.Struct, *btf.Union:
		return t.TypeName() == ""
	}
	return false
}

func skipQualifiers(t btf.Type) btf.Type {
	for {
		switch q := t.(type) {
		case *btf.Const:
			t = q.Type
		case *btf.Volatile:
			t = q.Type
		case *btf.Restrict:
			t = q.Type
		case *btf.TypeTag:
			t = q.Type
		default:
			return t
		}
	}
}

func skipTypeTags(t btf.Type) btf.Type {
	for {
		tt, ok := t.(*btf.TypeTag)
		if !ok {
			return t
		}
		t = tt.Type
	}
}

// decl renders a C declarator: the type t around inner (a name, or a
// partial declarator).
func (d *dumper) decl(t btf.Type, inner string, lvl int) string {
	join := func(base string) string {
		if inner == "" {
			return base
		}
		return base + " " + inner
	}
	pointee := d.pointee
	d.pointee = false
	switch t := t.(type) {
	case *btf.Pointer:
		s := "*" + inner
		switch skipQualifiers(t.Target).(type) {
		case *btf.FuncProto:
			// BPF programs cannot call through kernel function pointers;
			// they only read them. void * has the same layout and spares
			// clang thousands of prototypes in every compile.
			return "void " + s
		case *btf.Array:
			s = "(" + s + ")"
		}
		d.pointee = true
		return d.decl(t.Target, s, lvl)
	case *btf.Const:
		d.pointee = pointee
		return d.qualified("const", t.Type, inner, lvl)
	case *btf.Volatile:
		d.pointee = pointee
		return d.qualified("volatile", t.Type, inner, lvl)
	case *btf.Restrict:
		d.pointee = pointee
		return d.qualified("__restrict", t.Type, inner, lvl)
	case *btf.TypeTag:
		d.pointee = pointee
		return d.decl(t.Type, inner, lvl)
	case *btf.Array:
		return d.decl(t.Type, fmt.Sprintf("%s[%d]", inner, t.Nelems), lvl)
	case *btf.FuncProto:
		var ps []string
		for i, p := range t.Params {
			if _, ok := p.Type.(*btf.Void); ok && i == len(t.Params)-1 {
				ps = append(ps, "...")
				continue
			}
			ps = append(ps, d.decl(p.Type, "", lvl))
		}
		if len(ps) == 0 {
			ps = []string{"void"}
		}
		return d.decl(t.Return, inner+"("+strings.Join(ps, ", ")+")", lvl)
	case *btf.Void:
		return join("void")
	case *btf.Int:
		return join(t.Name)
	case *btf.Float:
		return join(t.Name)
	case *btf.Typedef:
		if d.typedefExcluded(t) {
			return join(t.Name)
		}
		d.rec.need(t)
		return join(d.ordName[t])
	case *btf.Enum:
		if t.Size == 4 && t.Name != "" && d.enumEmitted[t] {
			d.rec.need(t)
			return join("enum " + d.tagName[t])
		}
		return join(intType(t.Size, t.Signed))
	case *btf.Fwd:
		d.rec.named(t, keyword(t)+" "+d.tagName[t], pointee)
		return join(keyword(t) + " " + d.tagName[t])
	case *btf.Struct, *btf.Union:
		if t.TypeName() != "" {
			d.rec.named(t, keyword(t)+" "+d.tagName[t], pointee)
			if !pointee && d.compositeExcluded(t) {
				return join(keyword(t) + " " + d.tagName[t] + copySuffix)
			}
			return join(keyword(t) + " " + d.tagName[t])
		}
		return join(d.body(t, lvl))
	}
	return join(fmt.Sprintf("int /* unsupported BTF type %T */", t))
}

// qualified puts a qualifier after the '*' of a qualified pointer, else in
// front of the base type.
func (d *dumper) qualified(q string, t btf.Type, inner string, lvl int) string {
	if _, ok := skipTypeTags(t).(*btf.Pointer); ok {
		return d.decl(t, q+" "+inner, lvl)
	}
	s := d.decl(t, inner, lvl)
	if strings.HasPrefix(s, q+" ") {
		return s
	}
	return q + " " + s
}

func intType(size uint32, signed bool) string {
	var s string
	switch size {
	case 1:
		s = "char"
	case 2:
		s = "short"
	case 8:
		s = "long long"
	case 16:
		s = "__int128"
	default:
		s = "int"
	}
	if signed {
		if size == 1 {
			return "signed char"
		}
		return s
	}
	return "unsigned " + s
}

// body renders a struct or union with its members, at indentation lvl.
func (d *dumper) body(t btf.Type, lvl int) string {
	var b strings.Builder
	name := keyword(t)
	if t.TypeName() != "" {
		name += " " + d.tagName[t]
		if d.compositeExcluded(t) {
			name += copySuffix
		}
	}
	b.WriteString(name + " {\n")
	ind := strings.Repeat("\t", lvl+1)
	size, _ := btf.Sizeof(t)
	lay := d.layoutOf(t)
	_, isUnion := t.(*btf.Union)
	var off uint32 // bits
	for _, m := range members(t) {
		mo := uint32(m.Offset)
		if isUnion {
			mo = 0
		} else if mo > off {
			d.pad(&b, ind, off, mo)
		}
		if d.rec != nil && m.Name != "" {
			if tgt := derefTarget(m.Type); tgt != nil {
				d.rec.cur.ptrs = append(d.rec.cur.ptrs, recordedPtr{m.Name, tgt})
			}
		}
		b.WriteString(ind)
		b.WriteString(d.decl(m.Type, m.Name, lvl+1))
		if m.BitfieldSize > 0 {
			fmt.Fprintf(&b, ": %d", m.BitfieldSize)
		}
		b.WriteString(";\n")
		end := mo + uint32(m.BitfieldSize)
		if m.BitfieldSize == 0 {
			sz, _ := btf.Sizeof(m.Type)
			end = mo + uint32(sz)*8
		}
		if isUnion {
			off = max(off, end)
		} else {
			off = end
		}
	}
	total := uint32(size) * 8
	if isUnion {
		if off < total {
			d.pads++
			fmt.Fprintf(&b, "%schar __pad%d[%d];\n", ind, d.pads, size)
		}
	} else if off < total {
		d.pad(&b, ind, off, total)
	}
	b.WriteString(strings.Repeat("\t", lvl) + "}")
	if lay.packed {
		b.WriteString(" __attribute__((packed))")
	}
	return b.String()
}

// pad fills the bits [from, to) of a struct: an unnamed bitfield up to the
// next byte, whole bytes as a char array, and an unnamed bitfield for the
// bits of a last partial byte.
func (d *dumper) pad(b *strings.Builder, ind string, from, to uint32) {
	if r := from % 8; r != 0 {
		n := min(8-r, to-from)
		fmt.Fprintf(b, "%sunsigned char : %d;\n", ind, n)
		from += n
	}
	if bytes := (to - from) / 8; bytes > 0 {
		d.pads++
		fmt.Fprintf(b, "%schar __pad%d[%d];\n", ind, d.pads, bytes)
		from += bytes * 8
	}
	if from < to {
		fmt.Fprintf(b, "%sunsigned char : %d;\n", ind, to-from)
	}
}

// alignOf is the alignment clang gives t as this dumper writes it.
func (d *dumper) alignOf(t btf.Type) int {
	switch t := t.(type) {
	case *btf.Int:
		return max(1, min(int(t.Size), 16))
	case *btf.Float:
		return max(1, min(int(t.Size), 16))
	case *btf.Enum:
		return max(1, int(t.Size))
	case *btf.Pointer:
		return 8
	case *btf.Array:
		return d.alignOf(t.Type)
	case *btf.Typedef:
		return d.alignOf(t.Type)
	case *btf.Const:
		return d.alignOf(t.Type)
	case *btf.Volatile:
		return d.alignOf(t.Type)
	case *btf.Restrict:
		return d.alignOf(t.Type)
	case *btf.TypeTag:
		return d.alignOf(t.Type)
	case *btf.Struct, *btf.Union:
		return d.layoutOf(t).align
	}
	return 1
}

// layoutOf decides whether a struct or union must be packed to get the
// BTF's member offsets and size, and its resulting alignment.
func (d *dumper) layoutOf(t btf.Type) compositeLayout {
	if l, ok := d.layout[t]; ok {
		return l
	}
	align := 1
	packed := false
	for _, m := range members(t) {
		a := d.alignOf(m.Type)
		align = max(align, a)
		bits := uint32(a) * 8
		mo := uint32(m.Offset)
		if _, ok := t.(*btf.Union); ok {
			mo = 0
		}
		if m.BitfieldSize == 0 {
			if mo%bits != 0 {
				packed = true
			}
		} else if mo/bits != (mo+uint32(m.BitfieldSize)-1)/bits {
			// Straddles a unit of its type: only a packed struct does that.
			packed = true
		}
	}
	if size, _ := btf.Sizeof(t); size%align != 0 {
		packed = true
	}
	l := compositeLayout{packed: packed, align: align}
	if packed {
		l.align = 1
	}
	d.layout[t] = l
	return l
}
