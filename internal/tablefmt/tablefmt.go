// Package tablefmt holds BCC's text forms of tables: the key and leaf
// text libbcc's bpf_table_key_snprintf and bpf_table_key_sscanf read and
// write (BCC's key_sprintf/key_scanf), and the layout BCC's decode_table
// prints. Histograms are internal/hist's.
package tablefmt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/gobcc/gobcc/internal/ctype"
	"github.com/gobcc/gobcc/internal/maps"
)

// ErrScanf is wrapped by Scanf's errors: the text does not spell a value
// of the type.
var ErrScanf = errors.New("could not scanf")

// Sprintf formats data (at least typ.Size bytes) as libbcc's
// bpf_table_key_snprintf does: integers in hex ("0x1f"), char arrays quoted
// ("\"bash\""), arrays "[ a b ]", structs "{ a b }". As in libbcc, which
// prints the LLVM types clang lowered the C types to, a run of adjacent
// bitfields is one integer and a union shows its most aligned (then
// largest) member. table and what ("key", "leaf") name it in errors.
func Sprintf(table, what string, typ *ctype.Type, data []byte) (string, error) {
	if typ == nil {
		return "", fmt.Errorf("table %s: no %s type", table, what)
	}
	if len(data) < typ.Size {
		return "", fmt.Errorf("table %s: %s of %d bytes, want %d: %w", table, what, len(data), typ.Size, maps.ErrTypeMismatch)
	}
	var b strings.Builder
	formatC(&b, typ, data)
	return b.String(), nil
}

func formatC(b *strings.Builder, t *ctype.Type, data []byte) {
	switch t.Kind {
	case ctype.Bool, ctype.Int, ctype.Uint, ctype.Char:
		formatUint(b, data[:t.Size])
	case ctype.Float:
		switch t.Size {
		case 4:
			b.WriteString(strconv.FormatFloat(float64(math.Float32frombits(binary.LittleEndian.Uint32(data))), 'f', 6, 32))
		case 8:
			b.WriteString(strconv.FormatFloat(math.Float64frombits(binary.LittleEndian.Uint64(data)), 'f', 6, 64))
		default:
			formatBytes(b, data[:t.Size])
		}
	case ctype.CharArray:
		s := data[:t.Size]
		if i := strings.IndexByte(string(s), 0); i >= 0 {
			s = s[:i]
		}
		b.WriteString(`"` + string(s) + `"`)
	case ctype.Array:
		b.WriteString("[ ")
		for i := 0; i < t.Len; i++ {
			formatC(b, t.Elem, data[i*t.Elem.Size:])
			b.WriteByte(' ')
		}
		b.WriteString("]")
	case ctype.Struct, ctype.Union:
		b.WriteString("{ ")
		for _, m := range printedMembers(t) {
			if m.bitRun > 0 {
				formatUint(b, data[m.offset:m.offset+m.bitRun])
			} else {
				formatC(b, m.typ, data[m.offset:])
			}
			b.WriteByte(' ')
		}
		b.WriteString("}")
	default:
		formatBytes(b, data[:t.Size])
	}
}

// formatUint prints little-endian bytes as one hex number.
func formatUint(b *strings.Builder, data []byte) {
	be := make([]byte, len(data))
	for i, c := range data {
		be[len(data)-1-i] = c
	}
	fmt.Fprintf(b, "0x%x", new(big.Int).SetBytes(be))
}

// printedMember is what libbcc prints as one member of a struct or union:
// libbcc formats the LLVM type clang lowered the C type to, where a run
// of adjacent bitfields is one integer (bitRun bytes at offset) and a
// union is its most aligned (then largest) member.
type printedMember struct {
	typ    *ctype.Type
	offset int
	bitRun int
}

func printedMembers(t *ctype.Type) []printedMember {
	if t.Kind == ctype.Union {
		var best *ctype.Field
		for i := range t.Fields {
			f := &t.Fields[i]
			if f.BitSize > 0 {
				continue
			}
			if best == nil || f.Type.Align > best.Type.Align || f.Type.Align == best.Type.Align && f.Type.Size > best.Type.Size {
				best = f
			}
		}
		if best == nil {
			return nil
		}
		return []printedMember{{typ: best.Type, offset: best.Offset}}
	}
	var out []printedMember
	for i := 0; i < len(t.Fields); i++ {
		f := t.Fields[i]
		if f.BitSize == 0 {
			out = append(out, printedMember{typ: f.Type, offset: f.Offset})
			continue
		}
		start, end := f.Offset*8+f.BitOffset, f.Offset*8+f.BitOffset+f.BitSize
		for i+1 < len(t.Fields) && t.Fields[i+1].BitSize > 0 {
			i++
			n := t.Fields[i]
			end = max(end, n.Offset*8+n.BitOffset+n.BitSize)
		}
		first := start / 8
		out = append(out, printedMember{offset: first, bitRun: (end - first*8 + 7) / 8})
	}
	return out
}

func formatBytes(b *strings.Builder, data []byte) {
	b.WriteString("[ ")
	for _, c := range data {
		fmt.Fprintf(b, "0x%x ", c)
	}
	b.WriteString("]")
}

// scanner splits KeySprintf's text into tokens: brackets, braces, quoted
// strings (kept with their quotes) and words.
type scanner struct {
	toks []string
	pos  int
}

func tokenize(text string) ([]string, error) {
	var toks []string
	for i := 0; i < len(text); {
		switch c := text[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == ',':
			i++
		case c == '{' || c == '}' || c == '[' || c == ']':
			toks = append(toks, string(c))
			i++
		case c == '"':
			j := strings.IndexByte(text[i+1:], '"')
			if j < 0 {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			toks = append(toks, text[i:i+j+2])
			i += j + 2
		default:
			j := i
			for j < len(text) && !strings.ContainsRune(" \t\n,{}[]\"", rune(text[j])) {
				j++
			}
			toks = append(toks, text[i:j])
			i = j
		}
	}
	return toks, nil
}

func (s *scanner) next() (string, error) {
	if s.pos >= len(s.toks) {
		return "", errors.New("text ends too early")
	}
	s.pos++
	return s.toks[s.pos-1], nil
}

func (s *scanner) expect(tok string) error {
	got, err := s.next()
	if err != nil {
		return err
	}
	if got != tok {
		return fmt.Errorf("want %q, got %q", tok, got)
	}
	return nil
}

// Scanf parses text in Sprintf's form into size bytes (at least
// typ.Size), as libbcc's bpf_table_key_sscanf does. Integers may be
// decimal, hex (0x) or octal (leading 0), and negative, as C's %i.
func Scanf(table, what string, typ *ctype.Type, size int, text string) ([]byte, error) {
	if typ == nil {
		return nil, fmt.Errorf("table %s: no %s type", table, what)
	}
	toks, err := tokenize(text)
	if err != nil {
		return nil, fmt.Errorf("table %s: %s %q: %w: %w", table, what, text, ErrScanf, err)
	}
	s := &scanner{toks: toks}
	out := make([]byte, max(size, typ.Size))
	if err := s.scan(typ, out); err != nil {
		return nil, fmt.Errorf("table %s: %s %q: %w: %w", table, what, text, ErrScanf, err)
	}
	if s.pos != len(s.toks) {
		return nil, fmt.Errorf("table %s: %s %q: %w: text left over: %q", table, what, text, ErrScanf, s.toks[s.pos:])
	}
	return out, nil
}

// parseCInt parses an integer as C's %i does, into two's complement.
func parseCInt(tok string) (*big.Int, error) {
	neg := strings.HasPrefix(tok, "-")
	digits := strings.TrimPrefix(strings.TrimPrefix(tok, "-"), "+")
	base := 10
	switch {
	case strings.HasPrefix(digits, "0x") || strings.HasPrefix(digits, "0X"):
		base, digits = 16, digits[2:]
	case len(digits) > 1 && digits[0] == '0':
		base, digits = 8, digits[1:]
	}
	v, ok := new(big.Int).SetString(digits, base)
	if !ok {
		return nil, fmt.Errorf("%q is not an integer", tok)
	}
	if neg {
		v.Neg(v)
	}
	return v, nil
}

func (s *scanner) scan(t *ctype.Type, out []byte) error {
	switch t.Kind {
	case ctype.Bool, ctype.Int, ctype.Uint, ctype.Char:
		tok, err := s.next()
		if err != nil {
			return err
		}
		v, err := parseCInt(tok)
		if err != nil {
			return err
		}
		// Two's complement over 128 bits, truncated to the type.
		mod := new(big.Int).Lsh(big.NewInt(1), 128)
		v.Mod(v, mod)
		var buf [16]byte
		vb := v.Bytes()
		for i, c := range vb {
			buf[len(vb)-1-i] = c
		}
		copy(out[:t.Size], buf[:t.Size])
		return nil
	case ctype.Float:
		tok, err := s.next()
		if err != nil {
			return err
		}
		f, err := strconv.ParseFloat(tok, 64)
		if err != nil {
			return err
		}
		switch t.Size {
		case 4:
			binary.LittleEndian.PutUint32(out, math.Float32bits(float32(f)))
		case 8:
			binary.LittleEndian.PutUint64(out, math.Float64bits(f))
		default:
			return fmt.Errorf("cannot scan a %d-byte float", t.Size)
		}
		return nil
	case ctype.CharArray:
		tok, err := s.next()
		if err != nil {
			return err
		}
		if len(tok) < 2 || tok[0] != '"' || tok[len(tok)-1] != '"' {
			return fmt.Errorf("want a quoted string, got %q", tok)
		}
		str := tok[1 : len(tok)-1]
		if len(str) > t.Size {
			return fmt.Errorf("string %q longer than char[%d]", str, t.Size)
		}
		copy(out[:t.Size], str)
		return nil
	case ctype.Array:
		if err := s.expect("["); err != nil {
			return err
		}
		for i := 0; i < t.Len; i++ {
			if err := s.scan(t.Elem, out[i*t.Elem.Size:]); err != nil {
				return err
			}
		}
		return s.expect("]")
	case ctype.Struct, ctype.Union:
		if err := s.expect("{"); err != nil {
			return err
		}
		for _, m := range printedMembers(t) {
			typ := m.typ
			if m.bitRun > 0 {
				typ = &ctype.Type{Kind: ctype.Uint, Size: m.bitRun}
			}
			if err := s.scan(typ, out[m.offset:]); err != nil {
				return fmt.Errorf("member at offset %d: %w", m.offset, err)
			}
		}
		return s.expect("}")
	}
	if err := s.expect("["); err != nil {
		return err
	}
	for i := 0; i < t.Size; i++ {
		if err := s.scan(&ctype.Type{Kind: ctype.Uint, Size: 1}, out[i:]); err != nil {
			return err
		}
	}
	return s.expect("]")
}

// bccTypeName is BCC's MapDecoder.get_ct_name: ctypes' names, where long
// and long long are one type and print as "long long".
func bccTypeName(t *ctype.Type) string {
	switch t.Kind {
	case ctype.Struct:
		return "struct"
	case ctype.Union:
		return "union"
	case ctype.CharArray:
		return fmt.Sprintf("char[%d]", t.Len)
	case ctype.Array:
		return fmt.Sprintf("%s[%d]", bccTypeName(t.Elem), t.Len)
	case ctype.Opaque:
		return fmt.Sprintf("char[%d]", t.Size)
	}
	switch t.Name {
	case "long":
		return "long long"
	case "unsigned long":
		return "unsigned long long"
	}
	return t.Name
}

// Layout describes a map's key and value types as BCC's decode_table
// does, after a heading naming the map (its type in upper case, the
// descriptor and the kernel's map ID). With sizeInfo false the
// "[offset +size]" prefixes are left out.
func Layout(name, mapType string, fd int, id uint32, key, value *ctype.Type, sizeInfo bool) string {
	lines := []string{fmt.Sprintf("Layout of BPF map %s (type %s, FD %d, ID %d):", name, strings.ToUpper(mapType), fd, id)}
	lines = append(lines, layoutLines(key, "key", sizeInfo)...)
	lines = append(lines, layoutLines(value, "value", sizeInfo)...)
	return strings.Join(lines, "\n")
}

func layoutLines(t *ctype.Type, name string, sizeInfo bool) []string {
	if t == nil {
		return nil
	}
	if t.Kind == ctype.Struct || t.Kind == ctype.Union {
		lines := []string{fmt.Sprintf("  %s {", bccTypeName(t))}
		lines = append(lines, memberLines(t, "    ", 0, sizeInfo)...)
		return append(lines, fmt.Sprintf("  } %s;", name))
	}
	return []string{fmt.Sprintf("  %s %s;", bccTypeName(t), name)}
}

// memberLines is BCC's MapDecoder.print_ct_map, with libbcc's padding
// members (which ctype drops) put back where the offsets leave gaps.
// As in BCC, nested members are printed without size information.
func memberLines(t *ctype.Type, indent string, base int, sizeInfo bool) []string {
	var lines []string
	desc := func(off, size int) string {
		if !sizeInfo {
			return ""
		}
		return fmt.Sprintf("[%d +%d] ", off, size)
	}
	end, index := 0, 0
	for _, f := range t.Fields {
		if t.Kind == ctype.Struct && f.Offset > end && f.BitSize == 0 {
			lines = append(lines, fmt.Sprintf("%s%schar[%d] __pad_%d;", indent, desc(base+end, f.Offset-end), f.Offset-end, index))
			index++
		}
		switch {
		case f.BitSize > 0:
			d := ""
			if sizeInfo {
				d = fmt.Sprintf("[%d,%d +%d bit]", base+f.Offset, f.BitOffset, f.BitSize)
			}
			lines = append(lines, fmt.Sprintf("%s%s%s %s:%d;", indent, d, bccTypeName(f.Type), f.Name, f.BitSize))
		case f.Type.Kind == ctype.Struct || f.Type.Kind == ctype.Union:
			lines = append(lines, fmt.Sprintf("%s%s%s {", indent, desc(base+f.Offset, f.Type.Size), bccTypeName(f.Type)))
			lines = append(lines, memberLines(f.Type, indent+"  ", base+f.Offset, false)...)
			lines = append(lines, fmt.Sprintf("%s} %s;", indent, f.Name))
		default:
			lines = append(lines, fmt.Sprintf("%s%s%s %s;", indent, desc(base+f.Offset, f.Type.Size), bccTypeName(f.Type), f.Name))
		}
		index++
		end = max(end, f.Offset+max(f.Type.Size, 0))
		if f.BitSize > 0 {
			end = max(end, f.Offset+(f.BitOffset+f.BitSize+7)/8)
		}
	}
	if t.Kind == ctype.Struct && t.Size > end {
		lines = append(lines, fmt.Sprintf("%s%schar[%d] __pad_end;", indent, desc(base+end, t.Size-end), t.Size-end))
	}
	return lines
}
