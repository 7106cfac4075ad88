// Package debugflags names BCC's compiler and loader debug flags, the values
// BCC Python takes as BPF(debug=DEBUG_BPF|DEBUG_SOURCE) and libbcc takes as
// the flags argument of bpf_module_create_c_from_string.
//
// The values are libbcc's own (src/cc/bpf_module.h), so a Flags value can be
// handed to libbcc unchanged. Parse and the flag.Value methods let a command
// line say --debug=bpf,source instead of a number.
package debugflags

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// Flags is a set of BCC debug flags. The zero value asks for no debug output.
type Flags uint32

// The debug flags, with libbcc 0.26's values. Everything they print goes to
// the process's own stdout or stderr (libbcc writes there directly), not to
// a Go writer.
const (
	// LLVMIR prints the LLVM IR of the module after BCC's optimisation
	// passes, on standard output (on standard error when the IR fails
	// LLVM's verifier). BCC's table key/leaf sscanf and snprintf helper
	// modules are printed too.
	LLVMIR Flags = 0x1
	// BPF makes program loading ask the kernel for the verifier log at
	// level 1 (instructions and register state at branches) and prints it
	// on standard error, even when the load succeeds.
	BPF Flags = 0x2
	// Preprocessor prints, on standard error, the clang -cc1 command line
	// libbcc builds and the C source as BCC rewrote it (map calls turned
	// into helper calls, section attributes added) before clang compiles
	// it.
	Preprocessor Flags = 0x4
	// Source prints, on standard error, each function's BPF instructions
	// disassembled and interleaved with the C source lines they came from.
	Source Flags = 0x8
	// BPFRegisterState makes program loading ask for the verifier log at
	// level 2 (register state after every instruction) and prints it on
	// standard error. It implies the output of BPF.
	BPFRegisterState Flags = 0x10
	// BTF turns on libbcc's and libbpf's diagnostics while BCC loads the
	// program's BTF, on standard error. A program whose BTF loads cleanly
	// prints nothing.
	BTF Flags = 0x20

	// None is the empty set, no debug output.
	None Flags = 0
	// All is every flag libbcc 0.26 knows.
	All = LLVMIR | BPF | Preprocessor | Source | BPFRegisterState | BTF
)

// ErrUnknownFlag is returned, wrapped, by Parse and Set for a name or number
// that is not a debug flag.
var ErrUnknownFlag = errors.New("debugflags: unknown debug flag")

// flagNames holds the canonical names in bit order: BCC's DEBUG_* constant
// names, lower-cased and without the prefix.
var flagNames = []struct {
	name string
	flag Flags
}{
	{"llvm_ir", LLVMIR},
	{"bpf", BPF},
	{"preprocessor", Preprocessor},
	{"source", Source},
	{"bpf_register_state", BPFRegisterState},
	{"btf", BTF},
}

// aliases maps a name with case, "debug" prefix, '_' and '-' removed to its
// flags, so that DEBUG_LLVM_IR, llvm-ir and LLVMIR all match.
var aliases = map[string]Flags{
	"llvmir":           LLVMIR,
	"ir":               LLVMIR,
	"bpf":              BPF,
	"preprocessor":     Preprocessor,
	"source":           Source,
	"bpfregisterstate": BPFRegisterState,
	"registerstate":    BPFRegisterState,
	"btf":              BTF,
	"all":              All,
	"none":             None,
}

// Names returns the canonical name of every flag in bit order, the names
// String uses.
func Names() []string {
	names := make([]string, len(flagNames))
	for i, fn := range flagNames {
		names[i] = fn.name
	}
	return names
}

// Parse reads a set of flags from names separated by commas, '|', '+' or
// spaces, such as "bpf,source" or "DEBUG_BPF|DEBUG_SOURCE". Names are
// case-insensitive; BCC's spellings (DEBUG_LLVM_IR, llvm_ir, llvm-ir,
// bpf_register_state, register-state) are accepted, as are "all", "none" and
// numbers in Go syntax (18, 0x12, 0b10010). An empty string is None.
// A name or number that is not a flag gives an error wrapping
// ErrUnknownFlag that lists the valid names.
func Parse(s string) (Flags, error) {
	var result Flags
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == '|' || r == '+' || r == ' ' || r == '\t' || r == '\n'
	})
	for _, field := range fields {
		f, err := parseOne(field)
		if err != nil {
			return None, err
		}
		result |= f
	}
	return result, nil
}

func parseOne(field string) (Flags, error) {
	if field[0] >= '0' && field[0] <= '9' {
		n, err := strconv.ParseUint(field, 0, 32)
		if err != nil {
			return None, fmt.Errorf("%w: %q is not a number (valid names: %s)", ErrUnknownFlag, field, validNames())
		}
		// Bits libbcc does not define are almost always a typo; refusing
		// them keeps a mistyped number from silently doing nothing.
		if unknown := Flags(n) &^ All; unknown != 0 {
			return None, fmt.Errorf("%w: %s sets bits %#x that no debug flag uses (valid: %#x or names %s)", ErrUnknownFlag, field, uint32(unknown), uint32(All), validNames())
		}
		return Flags(n), nil
	}
	key := strings.ToLower(field)
	key = strings.TrimPrefix(key, "debug_")
	key = strings.TrimPrefix(key, "debug-")
	key = strings.Map(func(r rune) rune {
		if r == '_' || r == '-' {
			return -1
		}
		return r
	}, key)
	f, ok := aliases[key]
	if !ok {
		return None, fmt.Errorf("%w: %q (valid names: %s)", ErrUnknownFlag, field, validNames())
	}
	return f, nil
}

func validNames() string {
	return strings.Join(append(Names(), "all", "none"), ", ") + ", or a number"
}

// String returns the flags' canonical names joined by '|' in bit order, such
// as "bpf|source"; None is "none". Bits no flag uses are appended as one hex
// number, so that no bit goes unreported.
func (f Flags) String() string {
	if f == None {
		return "none"
	}
	parts := make([]string, 0, bits.OnesCount32(uint32(f)))
	for _, fn := range flagNames {
		if f&fn.flag != 0 {
			parts = append(parts, fn.name)
		}
	}
	if unknown := f &^ All; unknown != 0 {
		parts = append(parts, fmt.Sprintf("%#x", uint32(unknown)))
	}
	return strings.Join(parts, "|")
}

// Has reports whether every flag in want is set in f. Has(None) is true.
func (f Flags) Has(want Flags) bool { return f&want == want }

// VerifierLogLevel returns the log level BCC Python's load_func asks the
// kernel's verifier for: 2 with BPFRegisterState, else 1 with BPF, else 0.
func (f Flags) VerifierLogLevel() int {
	switch {
	case f&BPFRegisterState != 0:
		return 2
	case f&BPF != 0:
		return 1
	default:
		return 0
	}
}

// Set parses s as Parse does and adds the result to f. Adding rather than
// replacing lets a repeated command-line option (--debug bpf --debug source)
// accumulate. Together with String and Type, it makes *Flags a flag.Value
// and a pflag.Value.
func (f *Flags) Set(s string) error {
	parsed, err := Parse(s)
	if err != nil {
		return err
	}
	*f |= parsed
	return nil
}

// Type names the value's type for pflag's help output.
func (f *Flags) Type() string { return "debugflags" }
