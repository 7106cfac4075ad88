package bcc

import (
	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/tablefmt"
)

// ErrScanf is wrapped by the errors of KeyScanf and LeafScanf: the text
// does not spell a value of the type.
var ErrScanf = tablefmt.ErrScanf

// KeySprintf formats key (the table's key, KeySize bytes) as BCC's
// key_sprintf does (libbcc's bpf_table_key_snprintf): integers in hex
// ("0x1f"), char arrays quoted ("\"bash\""), arrays "[ a b ]", structs
// "{ a b }". As in libbcc, which prints the LLVM types clang lowered the C
// types to, a run of adjacent bitfields is one integer and a union shows
// its most aligned (then largest) member. KeyScanf reads it back.
func (t *Table) KeySprintf(key []byte) (string, error) {
	return tablefmt.Sprintf(t.name, "key", t.m.Key(), key)
}

// LeafSprintf formats a value (LeafSize bytes) as BCC's leaf_sprintf.
func (t *Table) LeafSprintf(leaf []byte) (string, error) {
	return tablefmt.Sprintf(t.name, "leaf", t.m.Leaf(), leaf)
}

// KeyScanf parses text in KeySprintf's form into a key of KeySize bytes,
// which Lookup, Update and Delete take (BCC's key_scanf). Integers may be
// decimal, hex (0x) or octal (leading 0), and negative, as C's %i.
func (t *Table) KeyScanf(text string) ([]byte, error) {
	return tablefmt.Scanf(t.name, "key", t.m.Key(), t.m.KeySize(), text)
}

// LeafScanf parses text in LeafSprintf's form into a value of LeafSize
// bytes (BCC's leaf_scanf).
func (t *Table) LeafScanf(text string) ([]byte, error) {
	return tablefmt.Scanf(t.name, "leaf", t.m.Leaf(), t.m.LeafSize(), text)
}

// DecodeTable describes the layout of table name's key and value as BCC's
// decode_table does, for debugging a program's types:
//
//	Layout of BPF map counts (type HASH, FD 5, ID 12):
//	  struct {
//	    [0 +4] unsigned int pid;
//	    [4 +16] char[16] comm;
//	  } key;
//	  unsigned long long value;
//
// With sizeInfo false the "[offset +size]" prefixes are left out. The ID
// is the kernel's map ID (BCC prints its own table index there).
func (b *BPF) DecodeTable(name string, sizeInfo bool) (string, error) {
	t, err := b.Table(name)
	if err != nil {
		return "", err
	}
	id := uint32(0)
	if info, err := bpfsys.MapInfoByFD(t.FD()); err == nil {
		id = info.ID
	}
	return tablefmt.Layout(name, t.Type().String(), t.FD(), id, t.m.Key(), t.m.Leaf(), sizeInfo), nil
}
