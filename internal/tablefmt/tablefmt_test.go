package tablefmt

import (
	"errors"
	"testing"

	"github.com/gobcc/gobcc/internal/ctype"
	"github.com/gobcc/gobcc/internal/maps"
)

func mustParse(t *testing.T, desc string, size int) *ctype.Type {
	t.Helper()
	typ, err := ctype.Parse(desc, size)
	if err != nil {
		t.Fatal(err)
	}
	return typ
}

// The expected texts are what libbcc's bpf_table_key_snprintf prints for
// the same types (bcc's helpers_test compares against BCC itself).
func TestSprintfScanfRoundTrip(t *testing.T) {
	for _, c := range []struct {
		desc string
		size int
		text string
	}{
		{`"unsigned int"`, 4, "0x1f"},
		{`"int"`, 4, "0xffffffff"},
		{`["key", [["pid","unsigned int"], ["comm","char",[8]]], "struct"]`, 12, `{ 0x2a "bash" }`},
		{`["a", [["x","unsigned short",[3]]], "struct"]`, 6, "{ [ 0x1 0x2 0x3 ] }"},
		// Adjacent bitfields print as one integer, as in the LLVM type.
		{`["bf", [["a","unsigned int", 4], ["b","unsigned int", 4], ["c","unsigned int"]], "struct"]`, 8, "{ 0x21 0x7 }"},
		// A union prints its most aligned member.
		{`["u", [["c","char"], ["l","unsigned long long"]], "union"]`, 8, "{ 0x5 }"},
	} {
		typ := mustParse(t, c.desc, c.size)
		b, err := Scanf("t", "key", typ, c.size, c.text)
		if err != nil {
			t.Errorf("Scanf(%s, %q): %v", c.desc, c.text, err)
			continue
		}
		got, err := Sprintf("t", "key", typ, b)
		if err != nil || got != c.text {
			t.Errorf("Sprintf(%s) = %q, %v; want %q", c.desc, got, err, c.text)
		}
	}
}

func TestScanfForms(t *testing.T) {
	u32 := mustParse(t, `"unsigned int"`, 4)
	for text, want := range map[string]byte{"10": 10, "0x10": 16, "010": 8, "-1": 0xff} {
		b, err := Scanf("t", "key", u32, 4, text)
		if err != nil || b[0] != want {
			t.Errorf("Scanf(%q) = %x, %v; want low byte %#x", text, b, err, want)
		}
	}
	for _, bad := range []string{"", "x", "1 2", `"s"`} {
		if _, err := Scanf("t", "key", u32, 4, bad); !errors.Is(err, ErrScanf) {
			t.Errorf("Scanf(%q): %v, want ErrScanf", bad, err)
		}
	}
	if _, err := Sprintf("t", "key", u32, []byte{1}); !errors.Is(err, maps.ErrTypeMismatch) {
		t.Errorf("Sprintf of 1 byte for a u32: %v, want ErrTypeMismatch", err)
	}
}

func TestLayout(t *testing.T) {
	key := mustParse(t, `["key", [["pid","unsigned int"], ["__pad_1","char",[4]], ["ts","unsigned long long"]], "struct_packed"]`, 16)
	got := Layout("counts", "hash", 5, 12, key, mustParse(t, `"unsigned long"`, 8), true)
	want := `Layout of BPF map counts (type HASH, FD 5, ID 12):
  struct {
    [0 +4] unsigned int pid;
    [4 +4] char[4] __pad_1;
    [8 +8] unsigned long long ts;
  } key;
  unsigned long long value;`
	if got != want {
		t.Errorf("Layout:\n%s\nwant:\n%s", got, want)
	}
}
