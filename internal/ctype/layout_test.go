package ctype

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

// layoutCase is a C type and the description libbcc gives it (written the
// way json_map_decl_visitor writes it: "struct" and computed layout for
// structs with bitfields, "struct_packed" with explicit padding otherwise).
type layoutCase struct {
	name string // C type as used in sizeof()
	decl string // C declarations
	desc string
	size int // libbcc's size when the description alone is not enough
}

var layoutCases = []layoutCase{
	{"struct bf", `struct bf { uint8_t a:4; uint64_t b:64; int c:5; _Bool d:1; char e:3; } __attribute__((packed));`, descPackedBits, 10},
	{"struct bits", `struct bits { uint32_t a:3; uint32_t b:5; uint64_t c:40; char d; };`,
		`["bits", [["a","unsigned int", 3], ["b","unsigned int", 5], ["c","unsigned long long", 40], ["d","char"] ], "struct"]`, 0},
	{"struct ub", `struct ub { int :0; char a; int :3; int b:4; _Bool f:1; char c:2; };`,
		`["ub", [["","int", 0], ["a","char"], ["","int", 3], ["b","int", 4], ["f","_Bool", 1], ["c","char", 2] ], "struct"]`, 0},
	{"struct straddle", `struct straddle { uint8_t a:7; uint8_t b:2; uint16_t c:9; uint16_t d:9; int8_t e:3; };`,
		`["straddle", [["a","unsigned char", 7], ["b","unsigned char", 2], ["c","unsigned short", 9], ["d","unsigned short", 9], ["e","signed char", 3] ], "struct"]`, 0},
	{"struct cross", `struct cross { uint32_t a:30; uint64_t b:40; uint32_t c:20; int64_t d:64; };`,
		`["cross", [["a","unsigned int", 30], ["b","unsigned long long", 40], ["c","unsigned int", 20], ["d","long long", 64] ], "struct"]`, 0},
	{"struct zw", `struct zw { char a; int :0; char b; long :4; char c; };`,
		`["zw", [["a","char"], ["","int", 0], ["b","char"], ["","long", 4], ["c","char"] ], "struct"]`, 0},
	{"struct bf_nested", `struct pad { char c; uint64_t x; uint16_t s; }; struct bf_nested { uint32_t a:4; struct pad p; uint8_t z:2; };`,
		`["bf_nested", [["a","unsigned int", 4], ["p",["pad", [["c","char"], ["__pad_1","char",[7]], ["x","unsigned long long"], ["s","unsigned short"], ["__pad_end","char",[6]] ], "struct_packed"]], ["z","unsigned char", 2] ], "struct"]`, 0},
	{"struct pb", `struct pb { char a; uint32_t b:4; uint64_t c; uint16_t d:12; } __attribute__((packed));`,
		`["pb", [["a","char"], ["b","unsigned int", 4], ["c","unsigned long long"], ["d","unsigned short", 12] ], "struct"]`, 12},
	{"union ubf", `union ubf { uint32_t a:3; uint8_t b; uint64_t c:33; };`,
		`["ubf", [["a","unsigned int", 3], ["b","unsigned char"], ["c","unsigned long long", 33] ], "union"]`, 0},
	{"struct i128bf", `struct i128bf { uint32_t a:1; __int128 v; char z; };`,
		`["i128bf", [["a","unsigned int", 1], ["v","__int128"], ["z","char"] ], "struct"]`, 0},
	{"struct bitanon", `struct bitanon { uint32_t a:4; union { uint32_t x; uint8_t y; }; struct { char p; uint16_t q:5; }; uint8_t tail:1; };`,
		`["bitanon", [["a","unsigned int", 4], ["", [["x","unsigned int"], ["y","unsigned char"] ], "union"], ["", [["p","char"], ["q","unsigned short", 5] ], "struct"], ["tail","unsigned char", 1] ], "struct"]`, 0},
	{"struct ldbl", `struct ldbl { uint8_t a:1; long double d; float f; double g; };`,
		`["ldbl", [["a","unsigned char", 1], ["d","long double"], ["f","float"], ["g","double"] ], "struct"]`, 0},
	{"struct arrbf", `struct bits2 { uint32_t a:3; uint64_t c:40; }; struct arrbf { char c; struct bits2 arr[2]; uint8_t z:3; uint16_t w[3]; };`,
		`["arrbf", [["c","char"], ["arr",["bits2", [["a","unsigned int", 3], ["c","unsigned long long", 40] ], "struct"], [2]], ["z","unsigned char", 3], ["w","unsigned short", [3]] ], "struct"]`, 0},
	{"struct padded", `struct padded { char c; uint64_t x; uint16_t s; int32_t arr[3]; char tail; };`,
		`["padded", [["c","char"], ["__pad_1","char",[7]], ["x","unsigned long long"], ["s","unsigned short"], ["__pad_3","char",[2]], ["arr","int",[3]], ["tail","char"], ["__pad_end","char",[7]] ], "struct_packed"]`, 0},
	{"struct packed2", `struct packed2 { char a; uint32_t b; uint16_t c; } __attribute__((packed));`,
		`["packed2", [["a","char"], ["b","unsigned int"], ["c","unsigned short"] ], "struct_packed"]`, 0},
	{"union plain", `union plain { uint32_t i; float f; char b[5]; uint64_t l; };`,
		`["plain", [["i","unsigned int"], ["f","float"], ["b","char", [5]], ["l","unsigned long long"] ], "union"]`, 0},
	{"struct signedbf", `struct signedbf { int a:5; long long b:33; short c:3; signed char d:1; };`,
		`["signedbf", [["a","int", 5], ["b","long long", 33], ["c","short", 3], ["d","signed char", 1] ], "struct"]`, 0},
}

// gccLayout compiles a C program that reports, for each case, sizeof,
// _Alignof, and each named member's first bit and width (bitfields found by
// setting them to all ones in a zeroed object).
func gccLayout(t *testing.T, cases []layoutCase, fields [][]string, bitfield [][]bool) map[string][]int {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		testutil.RequireKernel(t, "gcc not installed: %v", err)
	}
	var src strings.Builder
	src.WriteString("#include <stdio.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n")
	src.WriteString("static void bits(const char *c, const char *f, const unsigned char *p, size_t n) {\n" +
		" int first = -1, count = 0;\n for (size_t i = 0; i < n * 8; i++) if (p[i/8] >> (i%8) & 1) { if (first < 0) first = i; count++; }\n" +
		" printf(\"%s.%s %d %d\\n\", c, f, first, count);\n}\n")
	for _, c := range cases {
		src.WriteString(c.decl + "\n")
	}
	src.WriteString("int main(void) {\n")
	for i, c := range cases {
		fmt.Fprintf(&src, "{ printf(\"%s %%zu %%zu\\n\", sizeof(%s), _Alignof(%s));\n", c.name, c.name, c.name)
		for j, f := range fields[i] {
			if bitfield[i][j] {
				fmt.Fprintf(&src, "{ %s s; memset(&s, 0, sizeof s); s.%s = -1; bits(%q, %q, (void *)&s, sizeof s); }\n", c.name, f, c.name, f)
			} else {
				fmt.Fprintf(&src, "{ %s s; memset(&s, 0, sizeof s); memset((char *)&s + offsetof(%s, %s), 0xff, sizeof s.%s); bits(%q, %q, (void *)&s, sizeof s); }\n",
					c.name, c.name, f, f, c.name, f)
			}
		}
		src.WriteString("}\n")
	}
	src.WriteString("return 0; }\n")
	text := src.String()
	dir := t.TempDir()
	cfile := filepath.Join(dir, "layout.c")
	if err := os.WriteFile(cfile, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "layout")
	if out, err := exec.Command(gcc, "-w", "-o", bin, cfile).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s\n%s", err, out, text)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatalf("running layout program: %v", err)
	}
	res := map[string][]int{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		parts := strings.Fields(sc.Text())
		key := strings.Join(parts[:len(parts)-2], " ")
		a, _ := strconv.Atoi(parts[len(parts)-2])
		b, _ := strconv.Atoi(parts[len(parts)-1])
		res[key] = []int{a, b}
	}
	return res
}

// TestLayoutMatchesGCC checks size, alignment and every member's bits
// against what gcc lays out for the same C declaration.
func TestLayoutMatchesGCC(t *testing.T) {
	types := make([]*Type, len(layoutCases))
	fields := make([][]string, len(layoutCases))
	bitfield := make([][]bool, len(layoutCases))
	for i, c := range layoutCases {
		ty, err := Parse(c.desc, c.size)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		types[i] = ty
		for _, f := range ty.lookup {
			fields[i] = append(fields[i], f.name)
			bitfield[i] = append(bitfield[i], f.bitSize > 0)
		}
	}
	gcc := gccLayout(t, layoutCases, fields, bitfield)
	for i, c := range layoutCases {
		ty := types[i]
		t.Run(c.name, func(t *testing.T) {
			want, ok := gcc[c.name]
			if !ok {
				t.Fatalf("gcc printed nothing for %s", c.name)
			}
			if ty.Size != want[0] || ty.Align != want[1] {
				t.Errorf("size/align = %d/%d, gcc says %d/%d", ty.Size, ty.Align, want[0], want[1])
			}
			for _, f := range ty.lookup {
				g := gcc[c.name+"."+f.name]
				first := f.offset*8 + int(f.bitOff)
				width := int(f.bitSize)
				if width == 0 {
					width = f.typ.Size * 8
				}
				if g == nil || first != g[0] || width != g[1] {
					t.Errorf("%s: bits %d+%d, gcc says %v", f.name, first, width, g)
				}
			}
		})
	}
}

// TestParseLossy covers the descriptions libbcc 0.26 gets wrong, with the
// sizes it reports (taken from real programs).
func TestParseLossy(t *testing.T) {
	pad := `["pad", [["c","char"], ["__pad_1","char",[7]], ["x","unsigned long long"], ["s","unsigned short"], ["__pad_end","char",[6]] ], "struct_packed"]`
	tests := []struct {
		desc  string
		size  int
		want  string
		lossy bool
	}{
		{`"char"`, 16, "char[16]", true},
		{`"int"`, 24, "int[6]", true},
		{pad, 48, "struct pad { char c; unsigned long long x; unsigned short s; }[2]", true},
		{`["arr2", [["m","int", [2]], ["after","char"], ["__pad_end","char",[3]] ], "struct_packed"]`, 28,
			"struct arr2 { int m[2][3]; char after; }", true},
		{`["names", [["n","unsigned int"], ["s","char", [4]] ], "struct_packed"]`, 68,
			"struct names { unsigned int n; char s[4][16]; }", true},
		{`["u2", [["m","int", [2]], ["x","unsigned long long"] ], "union"]`, 24,
			"union u2 { int m[2][3]; unsigned long long x; }", true},
		{`["u2s", [["k","unsigned char"], ["__pad_1","char",[7]], ["u",["u2", [["m","int", [2]], ["x","unsigned long long"] ], "union"]] ], "struct_packed"]`, 32,
			"struct u2s { unsigned char k; union u2 { int m[2][3]; unsigned long long x; } u; }", true},
		// Two arrays could hold the lost bytes: everything from the first on
		// is opaque.
		{`["amb", [["k","int"], ["m","int", [2]], ["c","char", [2]] ], "struct_packed"]`, 38,
			"struct amb { int k; unsigned char __raw[34]; }", true},
		// Only tags can hold 14 more bytes (a whole number of its 2 rows).
		{`["names", [["comm","char", [16]], ["tags","char", [2]] ], "struct_packed"]`, 32,
			"struct names { char comm[16]; char tags[2][8]; }", true},
		// A flexible array member is described as a single char.
		{`["flex", [["n","int"], ["d","char"] ], "struct"]`, 4, "struct flex { int n; }", true},
		{`["pb", [["a","char"], ["b","unsigned int", 4], ["c","unsigned long long"] ], "struct"]`, 10,
			"struct pb { char a; unsigned int b:4; unsigned long long c; }", false},
		{`"unsigned long long"`, 4, "unsigned char[4]", true},
		{`["e", [["a","int"]], "struct_packed"]`, 6, "struct e { int a; unsigned char __raw[2]; }", true},
		{`"int"`, 4, "int", false},
	}
	for _, tc := range tests {
		ty, err := Parse(tc.desc, tc.size)
		if err != nil {
			t.Errorf("Parse(%s, %d): %v", tc.desc, tc.size, err)
			continue
		}
		if got := ty.String(); got != tc.want || ty.Lossy != tc.lossy || ty.Size != tc.size {
			t.Errorf("Parse(%s, %d) = %q lossy=%v size=%d, want %q lossy=%v", tc.desc, tc.size, got, ty.Lossy, ty.Size, tc.want, tc.lossy)
		}
		checkInBounds(t, ty, ty.Size)
	}
}

// checkInBounds fails if any member of t could be read past limit bytes.
func checkInBounds(t *testing.T, ty *Type, limit int) {
	t.Helper()
	if ty.Size > limit {
		t.Fatalf("%s: size %d > %d", ty, ty.Size, limit)
	}
	for _, f := range ty.Fields {
		end := f.Offset + f.Type.Size
		if f.BitSize > 0 {
			end = f.Offset + (f.BitOffset+f.BitSize+7)/8
		}
		if end > ty.Size || f.Offset < 0 {
			t.Fatalf("%s: member %q ends at %d > %d", ty, f.Name, end, ty.Size)
		}
		if f.BitSize == 0 {
			checkInBounds(t, f.Type, f.Type.Size)
		}
	}
	if ty.Elem != nil && ty.Elem.Size*ty.Len > ty.Size {
		t.Fatalf("%s: %d elements of %d bytes exceed %d", ty, ty.Len, ty.Elem.Size, ty.Size)
	}
}

func TestParseErrors(t *testing.T) {
	bad := []string{
		``, `{}`, `42`, `"void"`, `"unsigned"`, `["s"]`, `["s", "x", "struct"]`,
		`["s", [["a"]], "struct"]`, `["s", [["a","int",[2,3]]], "struct"]`,
		`["s", [["a","int",[-1]]], "struct"]`, `["s", [["a","int",33]]]`,
		`["s", [["a","float",3]]]`, `["s", [["a","int"]], "class"]`, `["s", [["a","int", true]]]`,
		`["s", [[1,"int"]]]`, `[1, []]`, `"int" "int"`, `["s", [["a","int",[1073741824]]]]`,
		strings.Repeat(`["s", [["a",`, 100) + `"int"` + strings.Repeat(`]]]`, 100),
	}
	for _, d := range bad {
		if ty, err := Parse(d, 0); !errors.Is(err, ErrBadDescription) {
			t.Errorf("Parse(%.40q) = %v, %v; want ErrBadDescription", d, ty, err)
		}
	}
	if _, err := Parse(`"int"`, -1); !errors.Is(err, ErrBadDescription) {
		t.Errorf("negative size: %v", err)
	}
}
