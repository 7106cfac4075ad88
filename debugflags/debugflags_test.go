package debugflags

import (
	"errors"
	"flag"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

func TestValuesMatchBCC(t *testing.T) {
	want := map[string]Flags{
		"DEBUG_LLVM_IR":            LLVMIR,
		"DEBUG_BPF":                BPF,
		"DEBUG_PREPROCESSOR":       Preprocessor,
		"DEBUG_SOURCE":             Source,
		"DEBUG_BPF_REGISTER_STATE": BPFRegisterState,
		"DEBUG_BTF":                BTF,
	}
	sources := []struct {
		path string
		re   *regexp.Regexp
	}{
		{"/usr/include/bcc/bpf_module.h", regexp.MustCompile(`(?m)^\s*(DEBUG_\w+)\s*=\s*(0x[0-9a-fA-F]+|\d+)\s*,`)},
		{"/usr/lib/python3/dist-packages/bcc/__init__.py", regexp.MustCompile(`(?m)^(DEBUG_\w+)\s*=\s*(0x[0-9a-fA-F]+|\d+)\s*$`)},
	}
	for _, src := range sources {
		t.Run(src.path, func(t *testing.T) {
			text, err := os.ReadFile(src.path)
			if err != nil {
				testutil.RequireKernel(t, "BCC reference file unreadable: %v", err)
			}
			found := map[string]Flags{}
			for _, m := range src.re.FindAllStringSubmatch(string(text), -1) {
				n, err := strconv.ParseUint(m[2], 0, 32)
				if err != nil {
					t.Fatalf("%s: %s = %s: %v", src.path, m[1], m[2], err)
				}
				found[m[1]] = Flags(n)
			}
			for name, flag := range want {
				got, ok := found[name]
				if !ok {
					t.Errorf("%s does not define %s", src.path, name)
					continue
				}
				if got != flag {
					t.Errorf("%s: %s = %#x, debugflags has %#x", src.path, name, uint32(got), uint32(flag))
				}
			}
			var union Flags
			for name, v := range found {
				if _, known := want[name]; !known {
					t.Errorf("%s defines %s = %#x, which debugflags lacks", src.path, name, uint32(v))
				}
				union |= v
			}
			if union != All {
				t.Errorf("union of %s flags = %#x, All = %#x", src.path, uint32(union), uint32(All))
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Flags
	}{
		{"", None},
		{"   ", None},
		{"none", None},
		{"NONE", None},
		{"bpf", BPF},
		{"bpf,source", BPF | Source},
		{"bpf|source", BPF | Source},
		{"bpf+source", BPF | Source},
		{"bpf source", BPF | Source},
		{" bpf , source ", BPF | Source},
		{"bpf,,source", BPF | Source},
		{"DEBUG_BPF|DEBUG_SOURCE", BPF | Source},
		{"debug_llvm_ir", LLVMIR},
		{"DEBUG_LLVM_IR", LLVMIR},
		{"llvm_ir", LLVMIR},
		{"llvm-ir", LLVMIR},
		{"LLVMIR", LLVMIR},
		{"ir", LLVMIR},
		{"Preprocessor", Preprocessor},
		{"bpf_register_state", BPFRegisterState},
		{"BPF-Register-State", BPFRegisterState},
		{"register-state", BPFRegisterState},
		{"register_state", BPFRegisterState},
		{"DEBUG_BPF_REGISTER_STATE", BPFRegisterState},
		{"btf", BTF},
		{"debug-btf", BTF},
		{"all", All},
		{"ALL,bpf", All},
		{"none,bpf", BPF},
		{"2", BPF},
		{"0x12", BPF | BPFRegisterState},
		{"0X3f", All},
		{"0b1010", BPF | Source},
		{"0o10", Source},
		{"0", None},
		{"0x1|source", LLVMIR | Source},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q) error: %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %v (%#x), want %v (%#x)", tt.in, got, uint32(got), tt.want, uint32(tt.want))
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in      string
		mention string
	}{
		{"bfp", `"bfp"`},
		{"bpf,sourc", `"sourc"`},
		{"debug", `"debug"`},
		{"0x40", "0x40"},
		{"0x7f", "0x40"},
		{"64", "0x40"},
		{"0x", `"0x"`},
		{"12abc", `"12abc"`},
		{"4294967296", `"4294967296"`},
		{"-1", `"-1"`},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want error", tt.in, got)
			continue
		}
		if !errors.Is(err, ErrUnknownFlag) {
			t.Errorf("Parse(%q) error %v does not wrap ErrUnknownFlag", tt.in, err)
		}
		if got != None {
			t.Errorf("Parse(%q) returned %v alongside an error, want None", tt.in, got)
		}
		msg := err.Error()
		if !strings.Contains(msg, tt.mention) {
			t.Errorf("Parse(%q) error %q does not mention %s", tt.in, msg, tt.mention)
		}
		for _, name := range Names() {
			if !strings.Contains(msg, name) {
				t.Errorf("Parse(%q) error %q does not list valid name %q", tt.in, msg, name)
			}
		}
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		in   Flags
		want string
	}{
		{None, "none"},
		{BPF, "bpf"},
		{BPF | Source, "bpf|source"},
		{Source | BPF, "bpf|source"},
		{LLVMIR, "llvm_ir"},
		{BPFRegisterState, "bpf_register_state"},
		{All, "llvm_ir|bpf|preprocessor|source|bpf_register_state|btf"},
		{0x40, "0x40"},
		{BPF | 0x40 | 0x100, "bpf|0x140"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("Flags(%#x).String() = %q, want %q", uint32(tt.in), got, tt.want)
		}
	}
}

func TestStringParseRoundTrip(t *testing.T) {
	for f := None; f <= All; f++ {
		got, err := Parse(f.String())
		if err != nil {
			t.Fatalf("Parse(%q): %v", f.String(), err)
		}
		if got != f {
			t.Errorf("Parse(%q) = %#x, want %#x", f.String(), uint32(got), uint32(f))
		}
	}
}

func TestNames(t *testing.T) {
	names := Names()
	if len(names) != 6 {
		t.Fatalf("Names() = %v, want 6 names", names)
	}
	var union Flags
	for i, name := range names {
		f, err := Parse(name)
		if err != nil {
			t.Fatalf("Parse(%q) from Names: %v", name, err)
		}
		if f != Flags(1)<<i {
			t.Errorf("Names()[%d] = %q parses to %#x, want bit %d", i, name, uint32(f), i)
		}
		union |= f
	}
	if union != All {
		t.Errorf("Names cover %#x, want All %#x", uint32(union), uint32(All))
	}
	names[0] = "mutated"
	if Names()[0] == "mutated" {
		t.Error("Names returns a slice aliasing package state")
	}
}

func TestHas(t *testing.T) {
	f := BPF | Source
	tests := []struct {
		want Flags
		has  bool
	}{
		{BPF, true},
		{Source, true},
		{BPF | Source, true},
		{LLVMIR, false},
		{BPF | LLVMIR, false},
		{None, true},
	}
	for _, tt := range tests {
		if got := f.Has(tt.want); got != tt.has {
			t.Errorf("(%v).Has(%v) = %v, want %v", f, tt.want, got, tt.has)
		}
	}
}

func TestVerifierLogLevel(t *testing.T) {
	tests := []struct {
		in   Flags
		want int
	}{
		{None, 0},
		{LLVMIR | Preprocessor | Source | BTF, 0},
		{BPF, 1},
		{BPF | Source, 1},
		{BPFRegisterState, 2},
		{BPF | BPFRegisterState, 2},
		{All, 2},
	}
	for _, tt := range tests {
		if got := tt.in.VerifierLogLevel(); got != tt.want {
			t.Errorf("(%v).VerifierLogLevel() = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestFlagValue(t *testing.T) {
	var debug Flags
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	fs.Var(&debug, "debug", "BCC debug flags")
	if err := fs.Parse([]string{"-debug", "bpf", "-debug=DEBUG_SOURCE|llvm-ir"}); err != nil {
		t.Fatalf("FlagSet.Parse: %v", err)
	}
	if want := BPF | Source | LLVMIR; debug != want {
		t.Errorf("after two -debug options: %v, want %v", debug, want)
	}
	if got := fs.Lookup("debug").Value.String(); got != "llvm_ir|bpf|source" {
		t.Errorf("flag String() = %q", got)
	}

	// The flag package formats Set's error with %v, so check Set itself.
	before := debug
	if err := debug.Set("bogus"); !errors.Is(err, ErrUnknownFlag) {
		t.Errorf("Set(bogus): error %v, want ErrUnknownFlag", err)
	}
	if debug != before {
		t.Errorf("failed Set changed the value from %v to %v", before, debug)
	}
	if err := fs.Parse([]string{"-debug", "bogus"}); err == nil {
		t.Error("FlagSet accepted -debug bogus")
	}

	// The interface pflag requires of a value.
	var pflagValue interface {
		String() string
		Set(string) error
		Type() string
	} = &debug
	if pflagValue.Type() != "debugflags" {
		t.Errorf("Type() = %q", pflagValue.Type())
	}
}

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := Parse("DEBUG_BPF|debug_source,llvm-ir"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkString(b *testing.B) {
	f := BPF | Source | LLVMIR
	for b.Loop() {
		_ = f.String()
	}
}
