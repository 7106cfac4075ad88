package cflags

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestBuilders(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		got, want string
	}{
		{Define("MAX", 16), "-DMAX=16"},
		{Define("RATIO", 1.5), "-DRATIO=1.5"},
		{Define("NAME", "comm"), "-DNAME=comm"},
		{Define("MSG", `"hi there"`), `-DMSG="hi there"`},
		{Define("ON", true), "-DON=true"},
		{Define("MASK", uint8(0xff)), "-DMASK=255"},
		{Define("EMPTY", ""), "-DEMPTY="},
		{Define("FLAG", nil), "-DFLAG"},
		{DefineFlag("FLAG"), "-DFLAG"},
		{Undefine("FLAG"), "-UFLAG"},
		{Include("/opt/inc"), "-I/opt/inc"},
		{Include("/opt/../opt/inc/"), "-I/opt/inc"},
		{Include("inc"), "-I" + filepath.Join(wd, "inc")},
		{Include(""), "-I"},
		{Warning("shadow"), "-Wshadow"},
		{NoWarning("unused-value"), "-Wno-unused-value"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestBuildersValidate(t *testing.T) {
	flags := []string{
		Define("MAX", 16), Define("MSG", `"hi there"`), DefineFlag("X"), Undefine("Y"),
		Include("relative/dir"), Include("/abs"), Warning("shadow"), NoWarning("unused-value"),
	}
	if err := Validate(flags); err != nil {
		t.Errorf("Validate(builder output %q): %v", flags, err)
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := [][]string{
		nil,
		{},
		{"-DX"},
		{"-DX=1", "-UY", "-I/usr/include/foo", "-O2", "-g", "-Wall", "-Wno-unused-value", "-std=gnu11", "-v"},
		{"-DMSG=hello world"},
		{`-DMSG="a b"`},
		{"-D", "X=1"},
		{"-DMAX(a,b)=((a)>(b)?(a):(b))"},
		{"-D_private"},
		{"-I/my dir/inc"},
		{"-I", "/opt/inc"},
		{"-include", "/tmp/x.h"},
		{"-include", "relative.h"}, // found through the include path
		{"-include/tmp/x.h"},
		{"-isystem", "/opt/sys"},
		{"-isystem/opt/sys", "-iquote/q", "-idirafter", "/after"},
		{"-imacros", "m.h"},
		{"-Xclang", "-ast-dump"},
		{"-mllvm", "-bpf-stack-size=1024"},
		{"-Xclang", "not-a-flag-but-passed-through"},
		{"-fno-stack-protector", "-fobjc-arc"},
	}
	for _, flags := range tests {
		if err := Validate(flags); err != nil {
			t.Errorf("Validate(%q): %v", flags, err)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		flags []string
		index int
		err   error
	}{
		{[]string{""}, 0, ErrNotAFlag},
		{[]string{"-O2", "foo.c"}, 1, ErrNotAFlag},
		{[]string{"-DX=a\nb"}, 0, ErrNotAFlag},
		{[]string{"-Wall\r"}, 0, ErrNotAFlag},
		{[]string{"-DX\x00Y"}, 0, ErrNotAFlag},
		{[]string{"-O2 -g"}, 0, ErrNotAFlag},
		{[]string{"-D X"}, 0, ErrNotAFlag},
		{[]string{"-I /opt"}, 0, ErrNotAFlag},
		{[]string{"-Xclang", "a\nb"}, 1, ErrNotAFlag},
		{[]string{"-D", "A\nB"}, 1, ErrNotAFlag},
		{[]string{"-o", "out.o"}, 0, ErrUnsupportedFlag},
		{[]string{"-oout.o"}, 0, ErrUnsupportedFlag},
		{[]string{"-c"}, 0, ErrUnsupportedFlag},
		{[]string{"-S"}, 0, ErrUnsupportedFlag},
		{[]string{"-g", "-E"}, 1, ErrUnsupportedFlag},
		{[]string{"-emit-llvm"}, 0, ErrUnsupportedFlag},
		{[]string{"-fsyntax-only"}, 0, ErrUnsupportedFlag},
		{[]string{"-###"}, 0, ErrUnsupportedFlag},
		{[]string{"-save-temps"}, 0, ErrUnsupportedFlag},
		{[]string{"-save-temps=obj"}, 0, ErrUnsupportedFlag},
		{[]string{"-M"}, 0, ErrUnsupportedFlag},
		{[]string{"-MD"}, 0, ErrUnsupportedFlag},
		{[]string{"-MF", "deps.d"}, 0, ErrUnsupportedFlag},
		{[]string{"-target", "bpf"}, 0, ErrUnsupportedFlag},
		{[]string{"--target=bpf"}, 0, ErrUnsupportedFlag},
		{[]string{"-x", "c++"}, 0, ErrUnsupportedFlag},
		{[]string{"-xc"}, 0, ErrUnsupportedFlag},
		{[]string{"-lbpf"}, 0, ErrUnsupportedFlag},
		{[]string{"-L/usr/lib"}, 0, ErrUnsupportedFlag},
		{[]string{"-Wl,--as-needed"}, 0, ErrUnsupportedFlag},
		{[]string{"-Xlinker", "x"}, 0, ErrUnsupportedFlag},
		{[]string{"-shared"}, 0, ErrUnsupportedFlag},
		{[]string{"--", "x"}, 0, ErrUnsupportedFlag},
		{[]string{"-"}, 0, ErrUnsupportedFlag},
		{[]string{"-Iinclude"}, 0, ErrUnsupportedFlag},
		{[]string{"-I", "./inc"}, 1, ErrUnsupportedFlag},
		{[]string{"-isystem", "sys"}, 1, ErrUnsupportedFlag},
		{[]string{"-iquoteq"}, 0, ErrUnsupportedFlag},
		{[]string{"-DBPF_LICENSE=GPL"}, 0, ErrUnsupportedFlag},
		{[]string{"-D", "BPF_LICENSE"}, 1, ErrUnsupportedFlag},
		{[]string{"-D"}, 0, ErrMissingValue},
		{[]string{"-O2", "-I"}, 1, ErrMissingValue},
		{[]string{"-include"}, 0, ErrMissingValue},
		{[]string{"-D", ""}, 0, ErrMissingValue},
		{[]string{"-Xclang"}, 0, ErrMissingValue},
		{[]string{"-mllvm", ""}, 0, ErrMissingValue},
		{[]string{"-D1X"}, 0, ErrInvalidMacro},
		{[]string{"-D=1"}, 0, ErrInvalidMacro},
		{[]string{"-DA-B"}, 0, ErrInvalidMacro},
		{[]string{"-DF(x=1"}, 0, ErrInvalidMacro},
		{[]string{"-UX=1"}, 0, ErrInvalidMacro},
		{[]string{"-D", "-O2"}, 1, ErrInvalidMacro},
	}
	sentinels := []error{ErrNotAFlag, ErrUnsupportedFlag, ErrMissingValue, ErrInvalidMacro}
	for _, tt := range tests {
		err := Validate(tt.flags)
		if err == nil {
			t.Errorf("Validate(%q) = nil, want %v", tt.flags, tt.err)
			continue
		}
		for _, s := range sentinels {
			if got, want := errors.Is(err, s), s == tt.err; got != want {
				t.Errorf("Validate(%q) = %v: errors.Is(%v) = %v, want %v", tt.flags, err, s, got, want)
			}
		}
		var fe *FlagError
		if !errors.As(err, &fe) {
			t.Errorf("Validate(%q) = %T, want *FlagError", tt.flags, err)
			continue
		}
		if fe.Index != tt.index || fe.Flag != tt.flags[tt.index] {
			t.Errorf("Validate(%q) blames element %d %q, want %d %q", tt.flags, fe.Index, fe.Flag, tt.index, tt.flags[tt.index])
		}
		if fe.Reason == "" {
			t.Errorf("Validate(%q) gives no reason", tt.flags)
		}
		if msg := err.Error(); !strings.Contains(msg, "element "+strconv.Itoa(tt.index)) || !strings.Contains(msg, strconv.Quote(tt.flags[tt.index])) {
			t.Errorf("Validate(%q) message %q does not name the element", tt.flags, msg)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, want []string
	}{
		{nil, []string{}},
		{[]string{"-D", "X=1", "-I", "/inc", "-U", "Y"}, []string{"-DX=1", "-I/inc", "-UY"}},
		{[]string{"-DX", "-O2"}, []string{"-DX", "-O2"}},
		{[]string{"-O2", "-D"}, []string{"-O2", "-D"}},
		{[]string{"-include", "x.h", "-isystem", "/s"}, []string{"-include", "x.h", "-isystem", "/s"}},
		{[]string{"-Xclang", "-D", "-DY"}, []string{"-Xclang", "-D", "-DY"}},
		{[]string{"-include", "-I", "-D", "Z"}, []string{"-include", "-I", "-DZ"}},
		{[]string{"-D", "-D", "X"}, []string{"-D-D", "X"}},
	}
	for _, tt := range tests {
		in := append([]string(nil), tt.in...)
		got := Normalize(in)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if !reflect.DeepEqual(in, tt.in) {
			t.Errorf("Normalize modified its input: %q", in)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  \t\n ", nil},
		{"-O2", []string{"-O2"}},
		{"-DN=4 -I /opt/inc", []string{"-DN=4", "-I/opt/inc"}},
		{"-D N=4", []string{"-DN=4"}},
		{"-D 'MSG=\"hello world\"'", []string{`-DMSG="hello world"`}},
		{`-DMSG="\"hi\""`, []string{`-DMSG="hi"`}},
		{`-DMSG=\"hi\"`, []string{`-DMSG="hi"`}},
		{`-I '/my dir'`, []string{"-I/my dir"}},
		{`-I/my\ dir`, []string{"-I/my dir"}},
		{`"-I/my dir"`, []string{"-I/my dir"}},
		{`-DA='it'\''s'`, []string{"-DA=it's"}},
		{`-DA="a\b"`, []string{`-DA=a\b`}},
		{`-DA="a\$b\` + "`" + `"`, []string{"-DA=a$b`"}},
		{"-DA=1 \\\n -DB=2", []string{"-DA=1", "-DB=2"}},
		{"-DA=x\\\ny", []string{"-DA=xy"}},
		{"\"-DA=x\\\ny\"", []string{"-DA=xy"}},
		{"-O2\n-g\r\n-Wall", []string{"-O2", "-g", "-Wall"}},
		{"-include /tmp/x.h -Xclang -ast-dump", []string{"-include", "/tmp/x.h", "-Xclang", "-ast-dump"}},
		{`-D'X'"=1"`, []string{"-DX=1"}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if len(got) == 0 && len(tt.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseSyntaxErrors(t *testing.T) {
	tests := []struct {
		in     string
		offset int
		reason string
	}{
		{`-DA='x`, 4, "single quote"},
		{`-DA="x`, 4, "double quote"},
		{`-DA="x\"`, 4, "double quote"},
		{`-DA=1 -DB='`, 10, "single quote"},
		{`-DA=1 \`, 6, "backslash"},
		{`'`, 0, "single quote"},
		{`"it's"  'unclosed`, 8, "single quote"},
	}
	for _, tt := range tests {
		flags, err := Parse(tt.in)
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) = %q, %v; want ErrSyntax", tt.in, flags, err)
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) error %T, want *SyntaxError", tt.in, err)
			continue
		}
		if se.Offset != tt.offset || !strings.Contains(se.Reason, tt.reason) {
			t.Errorf("Parse(%q): offset %d reason %q, want %d and %q", tt.in, se.Offset, se.Reason, tt.offset, tt.reason)
		}
		if !strings.Contains(err.Error(), "offset") {
			t.Errorf("Parse(%q) message %q lacks the offset", tt.in, err)
		}
	}
}

func TestParseValidates(t *testing.T) {
	tests := []struct {
		in  string
		err error
	}{
		{"-O2 foo.c", ErrNotAFlag},
		{"-o out.o", ErrUnsupportedFlag},
		{"-I inc", ErrUnsupportedFlag},
		{"-D", ErrMissingValue},
		{`-D ""`, ErrMissingValue},
		{"-D 1X", ErrInvalidMacro},
		{"''", ErrNotAFlag},
	}
	for _, tt := range tests {
		flags, err := Parse(tt.in)
		if !errors.Is(err, tt.err) {
			t.Errorf("Parse(%q) = %q, %v; want %v", tt.in, flags, err, tt.err)
		}
		if flags != nil {
			t.Errorf("Parse(%q) returned flags %q with an error", tt.in, flags)
		}
	}
}

func TestQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "''"},
		{"-O2", "-O2"},
		{"-DX=1", "-DX=1"},
		{"-I/usr/include", "-I/usr/include"},
		{"-I/my dir", "'-I/my dir'"},
		{`-DMSG="hi"`, `'-DMSG="hi"'`},
		{"-DA=it's", `'-DA=it'\''s'`},
		{"$HOME", "'$HOME'"},
		{"a\nb", "'a\nb'"},
	}
	for _, tt := range tests {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%q) = %q, want %q", tt.in, got, tt.want)
		}
		words, err := split(Quote(tt.in))
		if err != nil || len(words) != 1 || words[0] != tt.in {
			t.Errorf("split(Quote(%q)) = %q, %v", tt.in, words, err)
		}
	}
}

func TestJoinRoundTrip(t *testing.T) {
	flags := []string{"-DMSG=\"it's here\"", "-I/my dir", "-O2", "-include", "/x y/h.h", "-Xclang", "-ast-dump", "-DTAB=\t"}
	if err := Validate(flags); err != nil {
		t.Fatal(err)
	}
	joined := Join(flags)
	got, err := Parse(joined)
	if err != nil {
		t.Fatalf("Parse(Join(%q)) = %v (joined %q)", flags, err, joined)
	}
	if !reflect.DeepEqual(got, flags) {
		t.Errorf("Parse(Join(%q)) = %q (joined %q)", flags, got, joined)
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"", "-O2", "-DN=4 -I /opt/inc", `-D 'MSG="hello world"'`, `-DA='it'\''s'`,
		`-DA="x`, `-DA='x`, `\`, "-DA=1 \\\n -DB=2", `"-I/my dir"`, "-Xclang -D -DY",
		"-include -I -D Z", "-D -D X", `-DA="a\$b"`, "-o x", "foo.c",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flags, err := Parse(s)
		if err != nil {
			if flags != nil {
				t.Fatalf("Parse(%q) returned flags %q with error %v", s, flags, err)
			}
			var fe *FlagError
			var se *SyntaxError
			if !errors.As(err, &fe) && !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %T %v is neither FlagError nor SyntaxError", s, err, err)
			}
			return
		}
		if err := Validate(flags); err != nil {
			t.Fatalf("Parse(%q) = %q, which Validate rejects: %v", s, flags, err)
		}
		if !reflect.DeepEqual(Normalize(flags), flags) && len(flags) > 0 {
			t.Fatalf("Parse(%q) = %q is not normalized: %q", s, flags, Normalize(flags))
		}
		again, err := Parse(Join(flags))
		if err != nil {
			t.Fatalf("Parse(Join(%q)) = %v", flags, err)
		}
		if len(again) != len(flags) || (len(flags) > 0 && !reflect.DeepEqual(again, flags)) {
			t.Fatalf("Parse(Join(%q)) = %q", flags, again)
		}
	})
}

// FuzzQuoteSplit checks that Join's quoting survives any words at all, not
// only valid flags: the words are s cut at each '\x1f'.
func FuzzQuoteSplit(f *testing.F) {
	for _, seed := range []string{"", "a", "a\x1fb c", "it's\x1f\"\x1f\\", "\x1f", "\n\x1f$x\x1f'"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words := strings.Split(s, "\x1f")
		got, err := split(Join(words))
		if err != nil {
			t.Fatalf("split(Join(%q)): %v", words, err)
		}
		if !reflect.DeepEqual(got, words) {
			t.Fatalf("split(Join(%q)) = %q (joined %q)", words, got, Join(words))
		}
	})
}

func BenchmarkParse(b *testing.B) {
	const s = `-DN=4 -D 'MSG="hello world"' -I /opt/inc -include /tmp/x.h -Wno-unused-value -O2`
	for b.Loop() {
		if _, err := Parse(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	flags := []string{"-DN=4", `-DMSG="hello world"`, "-I/opt/inc", "-include", "/tmp/x.h", "-Wno-unused-value", "-O2"}
	for b.Loop() {
		if err := Validate(flags); err != nil {
			b.Fatal(err)
		}
	}
}
