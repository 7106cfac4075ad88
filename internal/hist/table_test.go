package hist

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/ctype"
	"github.com/gobcc/gobcc/internal/maps"
)

func parse(t *testing.T, desc string, size int) *ctype.Type {
	t.Helper()
	typ, err := ctype.Parse(desc, size)
	if err != nil {
		t.Fatal(err)
	}
	return typ
}

// entry decodes key and a u64 count as a table read would.
func entry(t *testing.T, key *ctype.Type, kb []byte, count uint64) maps.Entry {
	t.Helper()
	k, err := key.Decode(kb)
	if err != nil {
		t.Fatal(err)
	}
	v, err := parse(t, `"unsigned long long"`, 8).Decode(binary.NativeEndian.AppendUint64(nil, count))
	if err != nil {
		t.Fatal(err)
	}
	return maps.Entry{Key: k, Value: v}
}

func TestFromTableKeyed(t *testing.T) {
	key := parse(t, `["k", [["comm","char",[4]], ["slot","unsigned int"]], "struct"]`, 8)
	leaf := parse(t, `"unsigned long long"`, 8)
	kb := func(comm string, slot uint32) []byte {
		b := make([]byte, 8)
		copy(b, comm)
		binary.NativeEndian.PutUint32(b[4:], slot)
		return b
	}
	entries := []maps.Entry{entry(t, key, kb("sh", 1), 3), entry(t, key, kb("ls", 2), 4), entry(t, key, kb("sh", 0), 1)}
	read := func() ([]maps.Entry, error) { return entries, nil }
	sections, keyed, err := FromTable("h", key, leaf, read, Log2Slots, TableOptions{}, nil)
	if err != nil || !keyed || len(sections) != 2 {
		t.Fatalf("FromTable = %d sections, keyed %v, %v; want 2 keyed", len(sections), keyed, err)
	}
	if b, ok := sections[0].Bucket.([]byte); !ok || string(b) != "sh" {
		t.Errorf("first bucket %#v, want []byte(\"sh\") as Python's bytes", sections[0].Bucket)
	}
	if got := sections[0].Slots(true); len(got) != 2 || got[1].Low != 1 || got[1].Count.Int64() != 3 {
		t.Errorf("slots of sh: %v", got)
	}
	if sections[0].Title != PyRepr(sections[0].Bucket) {
		t.Errorf("default title %q, want PyRepr %q", sections[0].Title, PyRepr(sections[0].Bucket))
	}
	titled, _, _ := FromTable("h", key, leaf, read, Log2Slots, TableOptions{SectionTitleFn: func(b any) string { return "x" + string(b.([]byte)) }}, nil)
	if len(titled) != 2 || titled[0].Title != "xsh" {
		t.Errorf("SectionTitleFn titles: %+v", titled)
	}
	sections[0].Title, sections[1].Title = "'sh'", "'ls'"
	var sb strings.Builder
	if err := Print(&sb, sections, PrintOptions{Keyed: true, Header: "comm"}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sb.String(), "\ncomm = 'sh'\n     value") {
		t.Errorf("Print:\n%s", sb.String())
	}
	sb.Reset()
	Print(&sb, sections, PrintOptions{Keyed: true, Header: "comm", JSON: true, Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local)})
	if lines := strings.Split(strings.TrimSpace(sb.String()), "\n"); len(lines) != 2 || !strings.Contains(lines[0], `"comm": "sh"`) {
		t.Errorf("JSON Print:\n%s", sb.String())
	}
}

func TestFromTableRefusals(t *testing.T) {
	u64 := parse(t, `"unsigned long long"`, 8)
	flt := parse(t, `"double"`, 8)
	read := func() ([]maps.Entry, error) { t.Fatal("read before the types were checked"); return nil, nil }
	if _, _, err := FromTable("h", u64, flt, read, Log2Slots, TableOptions{}, nil); !errors.Is(err, maps.ErrTypeMismatch) {
		t.Errorf("float counts: %v", err)
	}
	if _, _, err := FromTable("h", flt, u64, read, Log2Slots, TableOptions{}, nil); !errors.Is(err, maps.ErrTypeMismatch) {
		t.Errorf("float key: %v", err)
	}
	big := []maps.Entry{entry(t, u64, binary.NativeEndian.AppendUint64(nil, 70), 1)}
	if _, _, err := FromTable("h", u64, u64, func() ([]maps.Entry, error) { return big, nil }, Log2Slots, TableOptions{}, nil); !errors.Is(err, bpfsys.ErrKeyNotExist) {
		t.Errorf("slot 70 of 65: %v, want ErrKeyNotExist (BCC's IndexError)", err)
	}
}
