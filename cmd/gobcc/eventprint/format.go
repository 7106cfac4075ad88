package eventprint

import (
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/cmd/gobcc/cli"
)

// jsonEvent is one perf or ring buffer record in --output json.
type jsonEvent struct {
	Type   string            `json:"type"`
	Time   time.Time         `json:"time"`
	Table  string            `json:"table"`
	CPU    *int              `json:"cpu,omitempty"`
	Fields json.RawMessage   `json:"fields,omitempty"`
	Ksym   map[string]string `json:"ksym,omitempty"`
	Usym   map[string]string `json:"usym,omitempty"`
	Data   string            `json:"data,omitempty"`
}

// jsonLost reports records the kernel dropped from a perf buffer.
type jsonLost struct {
	Type  string    `json:"type"`
	Time  time.Time `json:"time"`
	Table string    `json:"table"`
	Count uint64    `json:"count"`
}

// eventJSON encodes one event: its fields in declaration order (only those
// of --columns, if given), the symbols --ksym and --usym found beside them,
// and the record's bytes in hex when it has no known struct.
func (s *Stream) eventJSON(et *eventTable, cpu int, now time.Time, ev bcc.Value, data []byte) []byte {
	out := jsonEvent{Type: "event", Time: now, Table: et.table.Name()}
	if cpu >= 0 {
		out.CPU = &cpu
	}
	if !ev.IsValid() {
		out.Data = hex.EncodeToString(data)
	} else {
		var names []string
		if s.layout != nil {
			names = s.layout.fields()
		} else {
			for _, f := range et.typ.Fields {
				names = append(names, f.Name)
			}
		}
		var fields []byte
		if s.layout == nil {
			fields, _ = ev.MarshalJSON()
		} else {
			fields = append(fields, '{')
			n := 0
			for _, name := range names {
				v, ok := ev.Field(name)
				if !ok {
					continue
				}
				if n > 0 {
					fields = append(fields, ',')
				}
				n++
				key, _ := json.Marshal(name)
				val, _ := v.MarshalJSON()
				fields = append(append(append(fields, key...), ':'), val...)
			}
			fields = append(fields, '}')
		}
		out.Fields = fields
		for _, name := range names {
			v, ok := ev.Field(name)
			if !ok {
				continue
			}
			if k, ok := s.ksymOf(et, name, v); ok {
				if out.Ksym == nil {
					out.Ksym = map[string]string{}
				}
				out.Ksym[name] = k
			}
			if u, ok := s.usymOf(et, ev, name, v); ok {
				if out.Usym == nil {
					out.Usym = map[string]string{}
				}
				out.Usym[name] = u
			}
		}
	}
	line, err := cli.MarshalLine(out)
	if err != nil {
		line, _ = cli.MarshalLine(jsonEvent{Type: "event", Time: now, Table: et.table.Name(), Data: hex.EncodeToString(data)})
	}
	return line
}

// layoutPart is literal text or one field of an event line.
type layoutPart struct {
	literal string
	field   string // "" for literal text
	width   int    // minimum width; 0 none
	left    bool   // pad on the right (left-aligned)
	fixed   bool   // width given by the user
}

// eventLayout is the --columns or --format shape of an event line.
type eventLayout struct {
	columns bool
	parts   []layoutPart
}

// parseFieldSpec reads "NAME" or "NAME:WIDTH"; a negative width aligns
// left, as printf's %-16s does.
func parseFieldSpec(flag, spec string) (layoutPart, error) {
	name, width, hasWidth := strings.Cut(spec, ":")
	name = strings.TrimSpace(name)
	if name == "" {
		return layoutPart{}, cli.UsageErrorf("%s: empty field name in %q", flag, spec)
	}
	p := layoutPart{field: name}
	if hasWidth {
		w, err := strconv.Atoi(strings.TrimSpace(width))
		if err != nil {
			return layoutPart{}, cli.UsageErrorf("%s: field %q: width %q is not a number", flag, name, width)
		}
		p.fixed = true
		p.width, p.left = w, w < 0
		if w < 0 {
			p.width = -w
		}
	}
	return p, nil
}

// newColumnLayout builds the --columns layout: FIELD or FIELD:WIDTH names,
// left-aligned, one space apart.
func newColumnLayout(columns []string) (*eventLayout, error) {
	l := &eventLayout{columns: true}
	for _, c := range columns {
		if strings.TrimSpace(c) == "" {
			continue
		}
		p, err := parseFieldSpec("--columns", c)
		if err != nil {
			return nil, err
		}
		p.left = true
		if len(l.parts) > 0 {
			l.parts = append(l.parts, layoutPart{literal: " "})
		}
		l.parts = append(l.parts, p)
	}
	if len(l.parts) == 0 {
		return nil, cli.UsageErrorf("--columns: no field names")
	}
	return l, nil
}

// parseEventFormat reads a --format template: text with {FIELD} or
// {FIELD:WIDTH} (negative: left-aligned) where a field's value goes, and
// {{ and }} for braces.
func parseEventFormat(format string) (*eventLayout, error) {
	l := &eventLayout{}
	var lit strings.Builder
	flushLit := func() {
		if lit.Len() > 0 {
			l.parts = append(l.parts, layoutPart{literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(format); i++ {
		c := format[i]
		switch {
		case c == '{' && i+1 < len(format) && format[i+1] == '{':
			lit.WriteByte('{')
			i++
		case c == '}' && i+1 < len(format) && format[i+1] == '}':
			lit.WriteByte('}')
			i++
		case c == '{':
			end := strings.IndexByte(format[i:], '}')
			if end < 0 {
				return nil, cli.UsageErrorf("--format: unclosed { at byte %d of %q", i, format)
			}
			p, err := parseFieldSpec("--format", format[i+1:i+end])
			if err != nil {
				return nil, err
			}
			flushLit()
			l.parts = append(l.parts, p)
			i += end
		case c == '}':
			return nil, cli.UsageErrorf("--format: } without { at byte %d of %q (write }} for a brace)", i, format)
		default:
			lit.WriteByte(c)
		}
	}
	flushLit()
	if len(l.fields()) == 0 {
		return nil, cli.UsageErrorf("--format %q names no field: write {FIELD}", format)
	}
	return l, nil
}

// fields lists the fields the layout shows, in order.
func (l *eventLayout) fields() []string {
	var out []string
	for _, p := range l.parts {
		if p.field != "" {
			out = append(out, p.field)
		}
	}
	return out
}

// setWidths gives each --columns column without a width that of its
// heading or of its values' usual text, whichever is wider, as BCC's snoop
// tools size theirs (%-16s for a comm, %-7d for a pid).
func (l *eventLayout) setWidths(tables []*eventTable) {
	if !l.columns {
		return
	}
	for i := range l.parts {
		p := &l.parts[i]
		if p.field == "" || p.fixed {
			continue
		}
		p.width = len(p.field)
		for _, et := range tables {
			if et.typ == nil {
				continue
			}
			f, ok := et.typ.FieldByName(p.field)
			if !ok {
				continue
			}
			w := typeWidth(f.Type)
			if et.ksym[p.field] || et.usym[p.field] || (et.ksymAll && f.Type.Size == 8 && f.Type.IsInteger()) {
				w = 24
			}
			p.width = max(p.width, w)
		}
	}
}

// typeWidth is the width a column of type t usually needs.
func typeWidth(t *bcc.CType) int {
	switch t.Kind {
	case bcc.KindCharArray:
		return t.Len
	case bcc.KindInt, bcc.KindUint:
		switch t.Size {
		case 1:
			return 3
		case 2:
			return 5
		case 4:
			return 7
		}
		return 12
	}
	return 8
}

// header is the --columns heading line: the field names in upper case.
func (l *eventLayout) header() string {
	var sb strings.Builder
	l.format(&sb, strings.ToUpper)
	return strings.TrimRight(sb.String(), " ") + "\n"
}

// format writes one line (without its newline) with value giving each
// field's text. The last column is not padded.
func (l *eventLayout) format(sb *strings.Builder, value func(field string) string) {
	start := sb.Len()
	for _, p := range l.parts {
		if p.field == "" {
			sb.WriteString(p.literal)
			continue
		}
		text := value(p.field)
		pad := p.width - len(text)
		if pad > 0 && !p.left {
			sb.WriteString(strings.Repeat(" ", pad))
		}
		sb.WriteString(text)
		if pad > 0 && p.left {
			sb.WriteString(strings.Repeat(" ", pad))
		}
	}
	if l.columns {
		// Trailing padding of the last column only adds spaces.
		line := strings.TrimRight(sb.String()[start:], " ")
		s := sb.String()[:start] + line
		sb.Reset()
		sb.WriteString(s)
	}
}
