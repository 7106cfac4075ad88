package hist

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// PyRepr formats a bucket as Python's %r formats the value BCC has: []byte
// as bytes (b'...'), strings, bools, floats and nil as Python spells them,
// anything else with fmt.Sprint.
func PyRepr(b any) string {
	switch x := b.(type) {
	case []byte:
		return "b" + pyQuote(string(x), true)
	case string:
		return pyQuote(x, false)
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		if x == float64(int64(x)) && x < 1e16 && x > -1e16 {
			return strconv.FormatFloat(x, 'f', 1, 64)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case nil:
		return "None"
	}
	return fmt.Sprint(b)
}

// pyQuote quotes s as Python's repr does for bytes (asBytes) or str.
func pyQuote(s string, asBytes bool) string {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == quote || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c == 0x7f || (asBytes && c >= 0x80):
			fmt.Fprintf(&b, `\x%02x`, c)
		case c >= 0x80:
			r, size := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				fmt.Fprintf(&b, `\udc%02x`, c) // Python's surrogateescape
			case unicode.IsPrint(r):
				b.WriteString(s[i : i+size])
			case r <= 0xff:
				fmt.Fprintf(&b, `\x%02x`, r)
			case r <= 0xffff:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
			i += size
			continue
		default:
			b.WriteByte(c)
		}
		i++
	}
	b.WriteByte(quote)
	return b.String()
}
