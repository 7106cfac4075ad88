package events

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/gobcc/gobcc/internal/ctype"
)

// eventFieldTypes maps the type names libbcc reports in an event's field
// list (bpf_perf_event_field: "name#type") to ctype's builtin spellings.
// It holds what BCC's _get_event_class maps and the kernel's and libc's
// common fixed-size typedefs.
var eventFieldTypes = map[string]string{
	"char": "char", "s8": "signed char", "__s8": "signed char", "int8_t": "signed char", "signed char": "signed char",
	"unsigned char": "unsigned char", "u8": "unsigned char", "__u8": "unsigned char", "uint8_t": "unsigned char",
	"_Bool": "_Bool", "bool": "_Bool",
	"short": "short", "s16": "short", "__s16": "short", "int16_t": "short",
	"unsigned short": "unsigned short", "u16": "unsigned short", "__u16": "unsigned short", "uint16_t": "unsigned short",
	"__be16": "unsigned short", "__le16": "unsigned short",
	"int": "int", "s32": "int", "__s32": "int", "int32_t": "int", "pid_t": "int", "enum": "int",
	"unsigned int": "unsigned int", "u32": "unsigned int", "__u32": "unsigned int", "uint32_t": "unsigned int",
	"uid_t": "unsigned int", "gid_t": "unsigned int", "dev_t": "unsigned int", "__be32": "unsigned int", "__le32": "unsigned int",
	"long": "long", "ssize_t": "long", "loff_t": "long long",
	"unsigned long": "unsigned long", "size_t": "unsigned long",
	"long long": "long long", "s64": "long long", "__s64": "long long", "int64_t": "long long",
	"unsigned long long": "unsigned long long", "u64": "unsigned long long", "__u64": "unsigned long long",
	"uint64_t": "unsigned long long", "__be64": "unsigned long long", "__le64": "unsigned long long",
	"__int128": "__int128", "unsigned __int128": "unsigned __int128",
	"float": "float", "double": "double",
}

var eventArrayType = regexp.MustCompile(`^(.*?) ?((?:\[[0-9]+\])+)$`)

// eventMember turns one "name#type" field into a ctype member description.
func eventMember(field string) ([]any, error) {
	i := strings.LastIndexByte(field, '#')
	if i < 0 {
		return nil, fmt.Errorf("field %q is not name#type", field)
	}
	name, typ := field[:i], strings.TrimSpace(field[i+1:])
	var dims []int
	if m := eventArrayType.FindStringSubmatch(typ); m != nil {
		typ = m[1]
		for _, d := range strings.Split(strings.Trim(m[2], "[]"), "][") {
			n, err := strconv.Atoi(d)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", field, err)
			}
			dims = append(dims, n)
		}
	}
	var c string
	switch {
	case strings.HasSuffix(typ, "*"):
		c = "unsigned long long" // a pointer, as libbcc describes them in tables
	case strings.HasPrefix(typ, "enum "):
		c = "int"
	default:
		var ok bool
		if c, ok = eventFieldTypes[strings.TrimPrefix(typ, "const ")]; !ok {
			return nil, fmt.Errorf("field %q: type %q not recognized: decode it with EventOf and a Go struct", name, typ)
		}
	}
	if len(dims) == 0 {
		return []any{name, c}, nil
	}
	// ctype takes one dimension; inner ones become nested arrays of a
	// one-member struct only if needed, so flatten: a[2][3] is a[6].
	total := 1
	for _, d := range dims {
		total *= d
	}
	return []any{name, c, []any{total}}, nil
}

// TypeFromFields builds the event struct libbcc saw passed to
// perf_submit or ringbuf_output, laid out as C lays out a struct.
func TypeFromFields(fields []string) (*ctype.Type, error) {
	if len(fields) == 0 {
		return nil, errors.New("libbcc reported no event struct (the program submits no struct through this table)")
	}
	members := make([]any, 0, len(fields))
	for _, f := range fields {
		m, err := eventMember(f)
		if err != nil {
			return nil, err
		}
		members = append(members, m)
	}
	desc, err := json.Marshal([]any{"", members, "struct"})
	if err != nil {
		return nil, err
	}
	return ctype.Parse(string(desc), 0)
}

// LazyType builds a map's event type on first use; the zero value is
// ready and it is safe for concurrent use.
type LazyType struct {
	once sync.Once
	typ  *ctype.Type
	err  error
}

// Get returns the event type built from fields by TypeFromFields, built
// on the first call, which also runs then(type) (nil on failure) so that
// later calls only read what it stored.
func (l *LazyType) Get(fields []string, then func(*ctype.Type)) (*ctype.Type, error) {
	l.once.Do(func() {
		l.typ, l.err = TypeFromFields(fields)
		then(l.typ)
	})
	return l.typ, l.err
}

// Copier copies records into a Go type T byte for byte when T's memory
// layout is its binary layout (no implicit padding, no bool, only
// fixed-size data), and decodes them field by field otherwise.
type Copier[T any] struct {
	// Size is T's binary size, or what binary.Size reports (≤ 0) when T
	// has none.
	Size   int
	direct bool
}

// NewCopier inspects T.
func NewCopier[T any]() Copier[T] {
	var v T
	n := binary.Size(v)
	return Copier[T]{Size: n, direct: n > 0 && int(unsafe.Sizeof(v)) == n && !hasBool(reflect.TypeOf(v))}
}

// Decode fills *v from data, which holds at least Size bytes.
func (c Copier[T]) Decode(data []byte, v *T) error {
	if c.direct {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(v)), c.Size), data)
		return nil
	}
	_, err := binary.Decode(data[:c.Size], binary.NativeEndian, v)
	return err
}

// hasBool reports whether a bool hides in t: copying arbitrary bytes into
// a Go bool is not allowed, so such types decode field by field.
func hasBool(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool:
		return true
	case reflect.Array:
		return hasBool(t.Elem())
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if hasBool(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}
