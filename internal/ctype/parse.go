package ctype

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Limits that keep a hostile or corrupt description from exhausting memory
// or the stack; real BPF keys and values are far smaller.
const (
	maxTypeSize = 1 << 30
	maxDepth    = 64
)

// scalar describes a C builtin type as libbcc spells it.
type scalar struct {
	kind        Kind
	size, align int
}

// scalars holds every builtin spelling clang's BuiltinType::getName gives
// for types a BPF program can put in a map. Sizes are x86-64's, which
// clang's BPF target shares.
var scalars = map[string]scalar{
	"_Bool":              {Bool, 1, 1},
	"char":               {Char, 1, 1},
	"signed char":        {Int, 1, 1},
	"unsigned char":      {Uint, 1, 1},
	"short":              {Int, 2, 2},
	"unsigned short":     {Uint, 2, 2},
	"int":                {Int, 4, 4},
	"unsigned int":       {Uint, 4, 4},
	"long":               {Int, 8, 8},
	"unsigned long":      {Uint, 8, 8},
	"long long":          {Int, 8, 8},
	"unsigned long long": {Uint, 8, 8},
	"__int128":           {Int, 16, 16},
	"unsigned __int128":  {Uint, 16, 16},
	"wchar_t":            {Int, 4, 4},
	"char16_t":           {Uint, 2, 2},
	"char32_t":           {Uint, 4, 4},
	"float":              {Float, 4, 4},
	"double":             {Float, 8, 8},
	"long double":        {Float, 16, 16},
	"_Float16":           {Float, 2, 2},
	"__fp16":             {Float, 2, 2},
}

// Parse parses one libbcc type description and lays the type out.
//
// The description forms are those of libbcc's json_map_decl_visitor: a
// string for a builtin type (pointers and enums arrive as integers), and
// [name, [members...], "struct"|"struct_packed"|"union"] for an aggregate,
// whose members are [name, type], [name, type, [N]] (array), [name, type,
// bits] (bitfield) or an inline anonymous aggregate ["", [members], kind].
//
// size is libbcc's authoritative size (bpf_table_key_size or
// bpf_table_leaf_size); 0 means unknown and trusts the description. When the
// laid-out size differs, Parse repairs the type and sets Type.Lossy:
//
//   - a description smaller than size by a whole multiple is an array of it
//     (libbcc describes char[16] as "char" and int[2][3] as "int");
//   - a lost inner dimension (libbcc describes int m[2][3] as m[2]) is
//     restored when exactly one member, at any depth, can hold the missing
//     bytes;
//   - a packed struct with bitfields (described as "struct") is laid out
//     packed;
//   - otherwise the members from the first doubtful one on are replaced by
//     one Opaque member "__raw" covering the rest of the bytes, and members
//     that would end past size (a flexible array member) are dropped.
//
// The Type returned never reads past size.
func Parse(desc string, size int) (*Type, error) {
	if size < 0 || size > maxTypeSize {
		return nil, fmt.Errorf("%w: size %d out of range", ErrBadDescription, size)
	}
	dec := json.NewDecoder(strings.NewReader(desc))
	dec.UseNumber()
	var node any
	if err := dec.Decode(&node); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadDescription, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the description", ErrBadDescription)
	}
	t, err := parseType(node, 0)
	if err != nil {
		return nil, err
	}
	if size != 0 && t.Size != size {
		t = fitSize(t, size)
	}
	buildLookup(t)
	return t, nil
}

func badf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadDescription}, args...)...)
}

// parseType parses a type node: a builtin's name or an aggregate.
func parseType(node any, depth int) (*Type, error) {
	if depth > maxDepth {
		return nil, badf("nested deeper than %d", maxDepth)
	}
	switch n := node.(type) {
	case string:
		s, ok := scalars[n]
		if !ok {
			return nil, badf("unknown builtin type %q", n)
		}
		return &Type{Name: n, Kind: s.kind, Size: s.size, Align: s.align}, nil
	case []any:
		return parseAggregate(n, depth)
	}
	return nil, badf("type must be a string or a list, not %s", jsonText(node))
}

// parseAggregate parses [name, [members...]] or [name, [members...], kind].
func parseAggregate(n []any, depth int) (*Type, error) {
	if len(n) != 2 && len(n) != 3 {
		return nil, badf("aggregate %s must have 2 or 3 elements", jsonText(n))
	}
	name, ok := n[0].(string)
	if !ok {
		return nil, badf("aggregate name %s is not a string", jsonText(n[0]))
	}
	list, ok := n[1].([]any)
	if !ok {
		return nil, badf("members of %q are not a list", name)
	}
	kind := "struct"
	if len(n) == 3 {
		if kind, ok = n[2].(string); !ok {
			return nil, badf("kind of %q is not a string", name)
		}
	}
	t := &Type{Name: name}
	switch kind {
	case "struct":
		t.Kind = Struct
	case "struct_packed":
		t.Kind, t.Packed = Struct, true
	case "union":
		t.Kind = Union
	case "enum":
		// libbcc's enum form lists only enumerator names; C gives an enum
		// without negative or huge values the type unsigned int.
		return &Type{Name: "unsigned int", Kind: Uint, Size: 4, Align: 4}, nil
	default:
		return nil, badf("unknown aggregate kind %q", kind)
	}
	t.members = make([]member, 0, len(list))
	for _, m := range list {
		mem, err := parseMember(m, depth)
		if err != nil {
			return nil, fmt.Errorf("in %q: %w", name, err)
		}
		t.members = append(t.members, mem)
	}
	if err := layout(t); err != nil {
		return nil, err
	}
	return t, nil
}

// parseMember parses one member of an aggregate's member list.
func parseMember(node any, depth int) (member, error) {
	m, ok := node.([]any)
	if !ok || len(m) < 2 || len(m) > 3 {
		return member{}, badf("member %s must be a list of 2 or 3 elements", jsonText(node))
	}
	name, ok := m[0].(string)
	if !ok {
		return member{}, badf("member name %s is not a string", jsonText(m[0]))
	}
	mem := member{name: name, bits: -1}
	if len(m) == 3 {
		if _, isKind := m[2].(string); isKind {
			// An anonymous struct or union spelled inline: the member is itself
			// the aggregate.
			t, err := parseAggregate(m, depth+1)
			if err != nil {
				return member{}, err
			}
			mem.typ = t
			return mem, nil
		}
	}
	t, err := parseType(m[1], depth+1)
	if err != nil {
		return member{}, fmt.Errorf("member %q: %w", name, err)
	}
	mem.typ = t
	if len(m) == 2 {
		return mem, nil
	}
	switch x := m[2].(type) {
	case []any:
		if len(x) != 1 {
			return member{}, badf("member %q: array dimensions %s must be one number", name, jsonText(x))
		}
		n, err := smallInt(x[0])
		if err != nil {
			return member{}, fmt.Errorf("member %q: array length: %w", name, err)
		}
		if t.Size > 0 && n > maxTypeSize/t.Size {
			return member{}, badf("member %q: array of %d is too large", name, n)
		}
		mem.typ = arrayOf(t, n)
		mem.padding = strings.HasPrefix(name, "__pad_") && t.Kind == Char
	case json.Number:
		bits, err := smallInt(x)
		if err != nil {
			return member{}, fmt.Errorf("member %q: bit width: %w", name, err)
		}
		if !t.IsInteger() {
			return member{}, badf("member %q: bitfield of non-integer type %q", name, t.Name)
		}
		if bits > t.Size*8 || bits > 64 {
			return member{}, badf("member %q: %d bits do not fit %q (or exceed 64)", name, bits, t.Name)
		}
		mem.bits = bits
	default:
		return member{}, badf("member %q: third element %s is not [N], bits or a kind", name, jsonText(x))
	}
	return mem, nil
}

// smallInt converts a JSON number to a non-negative int within limits.
func smallInt(v any) (int, error) {
	num, ok := v.(json.Number)
	if !ok {
		return 0, badf("%s is not a number", jsonText(v))
	}
	n, err := num.Int64()
	if err != nil || n < 0 || n > maxTypeSize {
		return 0, badf("%s is not an integer in [0, %d]", num, maxTypeSize)
	}
	return int(n), nil
}

// arrayOf returns elem[n]; arrays of plain char are strings.
func arrayOf(elem *Type, n int) *Type {
	k := Array
	if elem.Kind == Char {
		k = CharArray
	}
	return &Type{Kind: k, Elem: elem, Len: n, Size: elem.Size * n, Align: elem.Align}
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 60 {
		return string(b[:57]) + "..."
	}
	return string(b)
}

func alignUp(n, a int) int {
	if a <= 1 {
		return n
	}
	return (n + a - 1) / a * a
}

// layout computes offsets, size and alignment of a struct or union from its
// members, following the x86-64 System V ABI as GCC implements it: a
// bitfield starts at the next free bit unless it would straddle a boundary
// of its declared type's alignment, a zero-width bitfield skips to that
// boundary, and unnamed bitfields do not raise the struct's alignment. In a
// packed struct every member has alignment 1 and bitfields pack bit by bit.
func layout(t *Type) error {
	t.Fields = t.Fields[:0]
	bit, align, maxEnd := 0, 1, 0
	for _, m := range t.members {
		mt := m.typ
		if t.Kind == Union {
			bit = 0
		}
		var f Field
		switch {
		case m.bits == 0:
			if !t.Packed {
				bit = alignUp(bit, mt.Align*8)
			}
			continue
		case m.bits > 0:
			unit := mt.Align * 8
			if !t.Packed && bit/unit != (bit+m.bits-1)/unit {
				bit = alignUp(bit, unit)
			}
			if !t.Packed && m.name != "" {
				align = max(align, mt.Align)
			}
			f = Field{Name: m.name, Type: mt, Offset: bit / 8, BitOffset: bit % 8, BitSize: m.bits}
			bit += m.bits
		default:
			a := mt.Align
			if t.Packed {
				a = 1
			}
			bit = alignUp(bit, 8)
			bit = alignUp(bit, a*8)
			align = max(align, a)
			f = Field{Name: m.name, Type: mt, Offset: bit / 8}
			bit += mt.Size * 8
		}
		if bit > maxTypeSize*8 {
			return badf("%q is larger than %d bytes", t.Name, maxTypeSize)
		}
		maxEnd = max(maxEnd, bit)
		if !m.padding && (m.bits < 0 || m.name != "") {
			t.Fields = append(t.Fields, f)
		}
	}
	t.Align = align
	t.Size = alignUp((maxEnd+7)/8, align)
	if t.Packed {
		t.Align = impliedAlign(t)
	}
	return nil
}

// impliedAlign is the alignment a struct_packed type really has. libbcc
// marks nearly every struct "struct_packed" and spells its padding out, so
// when every member sits at a multiple of its own alignment the struct is
// the naturally aligned struct it was declared as, and must be aligned as
// such when it is nested in a struct that libbcc lays out naturally (one
// with bitfields). Otherwise it was declared packed: alignment 1.
func impliedAlign(t *Type) int {
	align := 1
	for _, f := range t.Fields {
		if f.BitSize > 0 {
			return 1
		}
		if f.Offset%f.Type.Align != 0 {
			return 1
		}
		align = max(align, f.Type.Align)
	}
	if t.Size%align != 0 {
		return 1
	}
	return align
}

// containsArray reports whether a type has an array whose description may
// have lost inner dimensions: any array (but padding) at any depth.
func containsArray(t *Type) bool {
	switch t.Kind {
	case Array, CharArray:
		return true
	case Struct, Union:
		for _, m := range t.members {
			if !m.padding && containsArray(m.typ) {
				return true
			}
		}
	}
	return false
}

// fitSize reconciles a parsed type with libbcc's size; see Parse.
func fitSize(t *Type, size int) *Type {
	if t.Size < size {
		if t.IsAggregate() {
			if r, ok := repairArrays(t, size); ok {
				r.Lossy = true
				return r
			}
		}
		if t.Size > 0 && size%t.Size == 0 && !containsArray(t) {
			r := arrayOf(t, size/t.Size)
			r.Lossy = true
			return r
		}
	}
	if t.Kind == Struct && !t.Packed && t.Size > size {
		p := *t
		p.Packed = true
		p.Fields = nil
		if layout(&p) == nil && p.Size == size {
			p.Align = 1
			return &p
		}
	}
	if !t.IsAggregate() {
		r := Raw(size)
		r.Lossy = true
		return r
	}
	return truncate(t, size)
}

// repairArrays grows the one array member that can hold the bytes the
// description lost into a 2-D array, so the aggregate is size bytes. An
// array can hold them only if they are a whole number of its rows; a nested
// struct or union holding arrays might hold anything.
func repairArrays(t *Type, size int) (*Type, bool) {
	candidate := -1
	var grown *Type
	for i, m := range t.members {
		if m.padding || !containsArray(m.typ) {
			continue
		}
		want := m.typ.Size + (size - t.Size)
		if t.Kind == Union {
			want = size
		}
		g, ok := grow(m.typ, want)
		if !ok {
			continue
		}
		if candidate >= 0 {
			return nil, false // two places the bytes could have gone
		}
		candidate, grown = i, g
	}
	if candidate < 0 {
		return nil, false
	}
	r := *t
	r.members = append([]member(nil), t.members...)
	r.members[candidate].typ = grown
	r.Fields = nil
	if layout(&r) != nil || r.Size != size {
		return nil, false
	}
	return &r, true
}

// grow returns t with its lost inner array dimension restored so that it is
// want bytes, if that is possible.
func grow(t *Type, want int) (*Type, bool) {
	switch t.Kind {
	case Array, CharArray:
		elem, n := t.Elem, t.Len
		if containsArray(elem) || n == 0 || elem.Size == 0 || want <= t.Size || want%(n*elem.Size) != 0 {
			return nil, false
		}
		return arrayOf(arrayOf(elem, want/(n*elem.Size)), n), true
	case Struct, Union:
		return repairArrays(t, want)
	}
	return nil, false
}

// truncate keeps the members of t that are certainly where the description
// says, and covers the doubtful rest of size bytes with an Opaque member
// "__raw". Members that would end past size (a flexible array member, say)
// are dropped.
func truncate(t *Type, size int) *Type {
	r := *t
	r.Lossy = true
	r.Size = size
	r.Align = 1
	r.members = nil
	r.Fields = nil
	rawFrom := -1
	for _, f := range t.Fields {
		end := f.Offset + f.Type.Size
		if f.BitSize > 0 {
			end = f.Offset + (f.BitOffset+f.BitSize+7)/8
		}
		if (t.Size < size && containsArray(f.Type)) || end > size {
			if t.Kind == Union {
				rawFrom = 0
				continue
			}
			rawFrom = f.Offset
			break
		}
		r.Fields = append(r.Fields, f)
	}
	if rawFrom < 0 && t.Size < size {
		rawFrom = t.Size
		if t.Kind == Union {
			rawFrom = 0
		}
	}
	if rawFrom >= 0 && rawFrom < size {
		r.Fields = append(r.Fields, Field{Name: "__raw", Type: Raw(size - rawFrom), Offset: rawFrom})
	}
	return &r
}

// buildLookup fills the name index of t and of every type inside it.
func buildLookup(t *Type) {
	switch t.Kind {
	case Array, CharArray:
		buildLookup(t.Elem)
	case Struct, Union:
		t.lookup = t.lookup[:0]
		for _, f := range t.Fields {
			buildLookup(f.Type)
			if f.Name == "" && f.Type.IsAggregate() {
				for _, sub := range f.Type.lookup {
					sub.offset += f.Offset
					t.lookup = append(t.lookup, sub)
				}
				continue
			}
			t.lookup = append(t.lookup, flatField{name: f.Name, typ: f.Type, offset: f.Offset,
				bitOff: uint8(f.BitOffset), bitSize: uint8(f.BitSize)})
		}
	}
}

// equalLayout reports whether two types decode bytes identically.
func equalLayout(a, b *Type) bool {
	if a == b {
		return true
	}
	if a.Kind != b.Kind || a.Size != b.Size || a.Len != b.Len || len(a.Fields) != len(b.Fields) {
		return false
	}
	if a.Kind == Array || a.Kind == CharArray {
		return equalLayout(a.Elem, b.Elem)
	}
	if a.IsScalar() && a.Name != b.Name {
		return false
	}
	for i := range a.Fields {
		fa, fb := a.Fields[i], b.Fields[i]
		if fa.Name != fb.Name || fa.Offset != fb.Offset || fa.BitOffset != fb.BitOffset ||
			fa.BitSize != fb.BitSize || !equalLayout(fa.Type, fb.Type) {
			return false
		}
	}
	return true
}
