package ctype

import "testing"

func benchKey(b *testing.B) (*Type, []byte) {
	typ := mustParse(descKey, 40)
	buf, err := typ.Encode(map[string]any{"pid": 4242, "prio": -3, "comm": "bash", "ts": 123456789, "delta": -5})
	if err != nil {
		b.Fatal(err)
	}
	return typ, buf
}

// BenchmarkDecodeStruct decodes a 5-member struct and reads every member,
// as printing one table item does.
func BenchmarkDecodeStruct(b *testing.B) {
	typ, buf := benchKey(b)
	b.ReportAllocs()
	var sink uint64
	for b.Loop() {
		v, err := typ.Decode(buf)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < v.Len(); i++ {
			sink += v.FieldAt(i).Uint64()
		}
	}
	_ = sink
}

// BenchmarkFieldByName looks a struct member up by name.
func BenchmarkFieldByName(b *testing.B) {
	typ, buf := benchKey(b)
	v, _ := typ.Decode(buf)
	b.ReportAllocs()
	var sink int64
	for b.Loop() {
		f, _ := v.Field("delta")
		sink += f.Int64()
	}
	_ = sink
}

// BenchmarkUint64Scalar decodes a u64 leaf and reads it.
func BenchmarkUint64Scalar(b *testing.B) {
	typ := mustParse(`"unsigned long long"`, 8)
	buf := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	b.ReportAllocs()
	var sink uint64
	for b.Loop() {
		v, _ := typ.Decode(buf)
		sink += v.Uint64()
	}
	_ = sink
}

// BenchmarkStringStruct formats a struct as {pid: 1, comm: "bash", ...}.
func BenchmarkStringStruct(b *testing.B) {
	typ, buf := benchKey(b)
	v, _ := typ.Decode(buf)
	b.ReportAllocs()
	for b.Loop() {
		_ = v.String()
	}
}

// BenchmarkCompareUint64 compares two u64 keys, as sorting items does.
func BenchmarkCompareUint64(b *testing.B) {
	typ := mustParse(`"unsigned long long"`, 8)
	x, _ := typ.Decode([]byte{1, 2, 3, 4, 5, 6, 7, 8})
	y, _ := typ.Decode([]byte{1, 2, 3, 4, 5, 6, 7, 9})
	b.ReportAllocs()
	var sink int
	for b.Loop() {
		sink += Compare(x, y)
	}
	_ = sink
}
