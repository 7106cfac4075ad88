// Package cflags builds and checks the compiler flags gobcc hands to clang
// through libbcc, the equivalent of BCC Python's BPF(cflags=[...]).
//
// libbcc appends these flags to its own clang command line (after its
// kernel-header -I and -D flags and "-x c -c /virtual/main.c"), then runs
// clang's frontend actions itself. So each element must be one flag, not a
// file and not a shell string, and flags that pick an output, a mode or a
// target are either ignored or break the compile. Validate catches those
// before libbcc does with a less helpful message, and Parse turns a
// command-line string such as --cflags "-DN=4 -I /opt/inc" into a
// checked slice.
//
// Rejected as unsupported (ErrUnsupportedFlag), because libbcc ignores them
// or they break its single-job compile:
//
//   - output and mode: -o, -c, -S, -E, -emit-*, -fsyntax-only, -###,
//     -save-temps, and every dependency flag -M* (libbcc keeps its output in
//     memory and runs its own actions; use debugflags.Preprocessor to see
//     the preprocessed source);
//   - target and language: -target, --target=, -x (libbcc picks the host
//     target for the kernel headers and compiles C; a -x after the input
//     changes nothing);
//   - linking: -l, -L, -Wl,, -Xlinker, -shared, -static, -rdynamic (nothing
//     is linked);
//   - -- and - (an end of options or standard input: either way a second
//     input, and libbcc accepts only its own);
//   - a relative directory after -I, -isystem, -iquote or -idirafter:
//     libbcc runs clang from the kernel build directory, so a relative path
//     silently resolves there, not in the working directory (Include makes
//     paths absolute);
//   - -DBPF_LICENSE: BCC's prologue stops the compile with "#error
//     BPF_LICENSE cannot be specified through cflags".
//
// Flags that take a value may carry it joined (-DX=1, -I/dir) or as the next
// element (-D X=1, -include file.h). -Xclang and -mllvm always take the next
// element, which is passed through unchecked.
package cflags

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Sentinel errors, each wrapped with the offending element by Validate and
// Parse.
var (
	// ErrNotAFlag marks an element that is not one clang flag: empty, not
	// starting with '-', holding a newline, NUL or several flags.
	ErrNotAFlag = errors.New("not a single compiler flag")
	// ErrUnsupportedFlag marks a flag clang knows but libbcc ignores or
	// cannot compile with; the package doc lists them.
	ErrUnsupportedFlag = errors.New("compiler flag not supported by BCC")
	// ErrMissingValue marks a flag such as -D or -include with no value.
	ErrMissingValue = errors.New("compiler flag needs a value")
	// ErrInvalidMacro marks a -D or -U whose macro name is not a C
	// identifier.
	ErrInvalidMacro = errors.New("invalid macro name")
	// ErrSyntax marks a string Parse cannot split: an unterminated quote or
	// a trailing backslash.
	ErrSyntax = errors.New("syntax error")
)

// FlagError describes an element Validate rejected. errors.Is matches it
// against its sentinel (ErrNotAFlag, ErrUnsupportedFlag, ErrMissingValue or
// ErrInvalidMacro).
type FlagError struct {
	// Index is the element's position in the validated slice.
	Index int
	// Flag is the element itself.
	Flag string
	// Reason says what is wrong with it and, where there is one, what to
	// write instead.
	Reason string
	// Err is the sentinel.
	Err error
}

// Error reports the sentinel, the element's index and text, and the reason.
func (e *FlagError) Error() string {
	return fmt.Sprintf("cflags: %v: element %d %q: %s", e.Err, e.Index, e.Flag, e.Reason)
}

// Unwrap returns the sentinel, for errors.Is.
func (e *FlagError) Unwrap() error { return e.Err }

// SyntaxError describes where Parse could not split its input.
// errors.Is(err, ErrSyntax) is true for it.
type SyntaxError struct {
	// Offset is the byte offset in the input of the quote left open or of
	// the trailing backslash.
	Offset int
	// Reason says what is wrong.
	Reason string
}

// Error reports the offset and the reason.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("cflags: %v at offset %d: %s", ErrSyntax, e.Offset, e.Reason)
}

// Unwrap returns ErrSyntax.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// Define returns -DNAME=value, value printed with fmt's %v, as one element:
// Define("MAX", 16) is "-DMAX=16". The value needs no shell quoting, since
// the element reaches clang as one argument; a C string literal keeps its
// double quotes: Define("MSG", `"hi"`). A nil value gives -DNAME, as
// DefineFlag does.
func Define(name string, value any) string {
	if value == nil {
		return DefineFlag(name)
	}
	return "-D" + name + "=" + fmt.Sprint(value)
}

// DefineFlag returns -DNAME, which clang defines as 1.
func DefineFlag(name string) string { return "-D" + name }

// Undefine returns -UNAME.
func Undefine(name string) string { return "-U" + name }

// Include returns -I/dir with dir made absolute against the working
// directory, because libbcc runs clang from the kernel build directory and
// a relative include directory would resolve there. Include("") is "-I",
// which Validate rejects.
func Include(dir string) string {
	if dir == "" {
		return "-I"
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	// On error dir stays relative and Validate reports it.
	return "-I" + dir
}

// Warning returns -Wname, which turns a clang warning on: Warning("shadow")
// is "-Wshadow".
func Warning(name string) string { return "-W" + name }

// NoWarning returns -Wno-name, which turns a clang warning off.
func NoWarning(name string) string { return "-Wno-" + name }

// valueOption describes a flag that takes a value, joined or as the next
// element.
type valueOption struct {
	name string
	// checkValue reports what is wrong with a value, or "" and nil.
	checkValue func(value string) (string, error)
	// joinable options are joined to their value by Normalize; clang also
	// accepts the others joined, but -includefoo.h reads badly.
	joinable bool
}

// valueOptions is ordered so that no name is a prefix of a later one.
var valueOptions = []valueOption{
	{name: "-include", checkValue: checkNothing},
	{name: "-imacros", checkValue: checkNothing},
	{name: "-isystem", checkValue: checkDirectory},
	{name: "-iquote", checkValue: checkDirectory},
	{name: "-idirafter", checkValue: checkDirectory},
	{name: "-D", checkValue: checkDefine, joinable: true},
	{name: "-U", checkValue: checkUndefine, joinable: true},
	{name: "-I", checkValue: checkDirectory, joinable: true},
}

// separateOptions take the next element whatever it is, and have no joined
// form in clang 14.
var separateOptions = map[string]bool{"-Xclang": true, "-mllvm": true}

var unsupportedExact = map[string]string{
	"-o":            "libbcc keeps the object in memory; there is no output file",
	"-c":            "libbcc already compiles only",
	"-S":            "libbcc runs its own actions and ignores -S",
	"-E":            "libbcc ignores -E; use debugflags.Preprocessor to see the preprocessed source",
	"-fsyntax-only": "libbcc runs its own actions and ignores -fsyntax-only",
	"-###":          "libbcc never runs the driver's commands; use debugflags.Preprocessor to see the clang command line",
	"-save-temps":   "splits the compile into several jobs, which libbcc refuses",
	"-target":       "libbcc picks the host target for the kernel headers and emits BPF itself",
	"-x":            "libbcc compiles C and gives the input before the cflags, so -x changes nothing",
	"-Xlinker":      "nothing is linked",
	"-shared":       "nothing is linked",
	"-static":       "nothing is linked",
	"-rdynamic":     "nothing is linked",
	"--":            "ends the options, making what follows an input file, and libbcc accepts only its own input",
	"-":             "reads standard input as a second input file, which libbcc refuses",
}

var unsupportedPrefixes = []struct{ prefix, reason string }{
	{"-M", "dependency output is not produced by libbcc's in-memory compile"},
	{"-emit-", "libbcc runs its own actions and ignores -emit-*"},
	{"-save-temps=", "splits the compile into several jobs, which libbcc refuses"},
	{"--target=", "libbcc picks the host target for the kernel headers and emits BPF itself"},
	{"-x", "libbcc compiles C and gives the input before the cflags, so -x changes nothing"},
	{"-Wl,", "nothing is linked"},
	{"-l", "nothing is linked"},
	{"-L", "nothing is linked"},
}

// unsupportedReason returns why flag is refused, or "".
func unsupportedReason(flag string) string {
	if reason, ok := unsupportedExact[flag]; ok {
		return reason
	}
	// -o takes its file joined too (-oout.o), but -objc* options also
	// start with -o.
	if strings.HasPrefix(flag, "-o") && !strings.HasPrefix(flag, "-obj") {
		return unsupportedExact["-o"]
	}
	for _, p := range unsupportedPrefixes {
		if strings.HasPrefix(flag, p.prefix) {
			return p.reason
		}
	}
	return ""
}

// Validate checks that every element of flags is one clang flag libbcc can
// use. A flag that takes a value may be followed by it as the next element.
// The first problem is returned as a *FlagError wrapping ErrNotAFlag,
// ErrUnsupportedFlag, ErrMissingValue or ErrInvalidMacro.
func Validate(flags []string) error {
	for i := 0; i < len(flags); i++ {
		consumed, err := validateAt(flags, i)
		if err != nil {
			return err
		}
		i += consumed
	}
	return nil
}

// validateAt checks flags[i] and returns how many following elements it
// took as its value.
func validateAt(flags []string, i int) (int, error) {
	flag := flags[i]
	fail := func(sentinel error, format string, args ...any) (int, error) {
		return 0, &FlagError{Index: i, Flag: flag, Reason: fmt.Sprintf(format, args...), Err: sentinel}
	}
	if reason := unprintable(flag); reason != "" {
		return fail(ErrNotAFlag, "%s", reason)
	}
	if flag == "" {
		return fail(ErrNotAFlag, "empty element")
	}
	if flag[0] != '-' {
		return fail(ErrNotAFlag, "does not start with '-'; libbcc compiles only its own source, so this would be a second input file")
	}
	if reason := unsupportedReason(flag); reason != "" {
		return fail(ErrUnsupportedFlag, "%s", reason)
	}
	if separateOptions[flag] {
		if i+1 >= len(flags) || flags[i+1] == "" {
			return fail(ErrMissingValue, "%s passes the next element on and there is none", flag)
		}
		if reason := unprintable(flags[i+1]); reason != "" {
			return 0, &FlagError{Index: i + 1, Flag: flags[i+1], Reason: reason, Err: ErrNotAFlag}
		}
		return 1, nil
	}
	for _, opt := range valueOptions {
		if !strings.HasPrefix(flag, opt.name) {
			continue
		}
		value, index, consumed := flag[len(opt.name):], i, 0
		if value == "" {
			if i+1 >= len(flags) || flags[i+1] == "" {
				return fail(ErrMissingValue, "%s needs a value, joined (%sVALUE) or as the next element", opt.name, opt.name)
			}
			value, index, consumed = flags[i+1], i+1, 1
			if reason := unprintable(value); reason != "" {
				return 0, &FlagError{Index: index, Flag: value, Reason: reason, Err: ErrNotAFlag}
			}
		} else if isSpace(value[0]) {
			return fail(ErrNotAFlag, "space after %s inside one element; write %s%s or pass the value as the next element", opt.name, opt.name, strings.TrimLeft(value, " \t"))
		}
		if reason, err := opt.checkValue(value); err != nil {
			return 0, &FlagError{Index: index, Flag: flags[index], Reason: reason, Err: err}
		}
		return consumed, nil
	}
	if strings.ContainsAny(flag, " \t") {
		return fail(ErrNotAFlag, "contains a space, so it looks like several flags in one element; pass each flag as its own element (Parse splits a string)")
	}
	return 0, nil
}

// unprintable rejects characters that cannot survive the trip to clang: C
// strings end at NUL, and clang drops a -D value's text after a newline.
func unprintable(s string) string {
	switch {
	case strings.ContainsRune(s, 0):
		return "contains a NUL byte, which would cut the flag short in C"
	case strings.ContainsAny(s, "\n\r"):
		return "contains a line break"
	}
	return ""
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func checkNothing(string) (string, error) { return "", nil }

func checkDirectory(dir string) (string, error) {
	if !filepath.IsAbs(dir) {
		return fmt.Sprintf("include directory %q is relative; libbcc runs clang from the kernel build directory, so use an absolute path (cflags.Include makes one)", dir), ErrUnsupportedFlag
	}
	return "", nil
}

func checkDefine(definition string) (string, error) {
	name, _, _ := strings.Cut(definition, "=")
	// A function-like macro: -D'MAX(a,b)=...'.
	if open := strings.IndexByte(name, '('); open >= 0 {
		if !strings.HasSuffix(name, ")") {
			return fmt.Sprintf("macro parameters in %q have no closing parenthesis", name), ErrInvalidMacro
		}
		name = name[:open]
	}
	if !isIdentifier(name) {
		return fmt.Sprintf("%q is not a C identifier", name), ErrInvalidMacro
	}
	if name == "BPF_LICENSE" {
		return "BCC refuses BPF_LICENSE through cflags (#error BPF_LICENSE cannot be specified through cflags); #define it in the program source", ErrUnsupportedFlag
	}
	return "", nil
}

func checkUndefine(name string) (string, error) {
	if !isIdentifier(name) {
		return fmt.Sprintf("%q is not a C identifier", name), ErrInvalidMacro
	}
	return "", nil
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		digit := c >= '0' && c <= '9'
		if !letter && !(digit && i > 0) {
			return false
		}
	}
	return true
}

// Normalize returns a copy of flags with each -D, -U or -I that stands alone
// joined to the element after it: ["-D", "X=1", "-I", "/inc"] becomes
// ["-DX=1", "-I/inc"]. A dangling -D at the end is kept for Validate to
// report. Other value flags (-include file.h) stay as pairs, which clang and
// Validate accept.
func Normalize(flags []string) []string {
	out := make([]string, 0, len(flags))
	for i := 0; i < len(flags); i++ {
		flag := flags[i]
		if i+1 < len(flags) {
			switch joinable, takesNext := separateValue(flag); {
			case joinable:
				flag += flags[i+1]
				i++
			case takesNext:
				// The next element is this flag's value even if it
				// looks like -D, so it must not be joined to anything.
				out = append(out, flag)
				flag = flags[i+1]
				i++
			}
		}
		out = append(out, flag)
	}
	return out
}

// separateValue reports whether flag, standing alone, takes the next
// element as its value, and whether Normalize joins the two.
func separateValue(flag string) (joinable, takesNext bool) {
	if separateOptions[flag] {
		return false, true
	}
	for _, opt := range valueOptions {
		if flag == opt.name {
			return opt.joinable, true
		}
	}
	return false, false
}

// Parse splits s as a POSIX shell splits words, without expansions: blanks
// separate flags, single quotes keep everything literally, double quotes
// keep everything but \" \\ \$ \` and backslash-newline, and outside quotes
// a backslash keeps the next character. The words are then Normalized and
// Validated, so "-D N=4 -I '/opt/my inc'" gives ["-DN=4", "-I/opt/my inc"].
// An unterminated quote or a trailing backslash gives a *SyntaxError
// (errors.Is ErrSyntax) with its offset. Blank input gives no flags.
func Parse(s string) ([]string, error) {
	words, err := split(s)
	if err != nil {
		return nil, err
	}
	flags := Normalize(words)
	if err := Validate(flags); err != nil {
		return nil, err
	}
	return flags, nil
}

func split(s string) ([]string, error) {
	var (
		words  []string
		word   strings.Builder
		inWord bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
		case c == '\\':
			if i+1 >= len(s) {
				return nil, &SyntaxError{Offset: i, Reason: "backslash at end of input"}
			}
			i++
			if s[i] == '\n' {
				continue // line continuation
			}
			word.WriteByte(s[i])
			inWord = true
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, &SyntaxError{Offset: i, Reason: "unterminated single quote"}
			}
			word.WriteString(s[i+1 : i+1+end])
			i += 1 + end
			inWord = true
		case c == '"':
			quoteAt := i
			closed := false
			for i++; i < len(s); i++ {
				c := s[i]
				if c == '"' {
					closed = true
					break
				}
				if c == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0 {
					i++
					if s[i] != '\n' {
						word.WriteByte(s[i])
					}
					continue
				}
				word.WriteByte(c)
			}
			if !closed {
				return nil, &SyntaxError{Offset: quoteAt, Reason: "unterminated double quote"}
			}
			inWord = true
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, word.String())
	}
	return words, nil
}

// Quote returns s quoted so that Parse reads it back as one word: s itself
// when it holds only characters no shell treats specially, otherwise s in
// single quotes.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for i := 0; i < len(s) && safe; i++ {
		c := s[i]
		safe = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("-_=+/.,:@%", c) >= 0
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Join quotes each flag and joins them with spaces, the inverse of Parse
// for a valid, normalized slice: Parse(Join(flags)) gives flags back. The
// result can also be pasted into a POSIX shell.
func Join(flags []string) string {
	quoted := make([]string, len(flags))
	for i, f := range flags {
		quoted[i] = Quote(f)
	}
	return strings.Join(quoted, " ")
}
