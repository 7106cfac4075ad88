package kheaders

import (
	"bufio"
	"bytes"
	_ "embed"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Define is one object-like #define: a name and its body.
type Define struct {
	Name, Body string
}

var (
	blockComment = regexp.MustCompile(`(?s)/\*.*?\*/`)
	lineComment  = regexp.MustCompile(`//.*`)
	defineLine   = regexp.MustCompile(`^\s*#\s*define\s+([A-Za-z_]\w*)([ \t]+(.*))?$`)
)

// ParseDefines returns the object-like macros of a C header (function-like
// macros, and macros without a body, are skipped).
func ParseDefines(src []byte) []Define {
	text := blockComment.ReplaceAllString(string(src), " ")
	text = strings.ReplaceAll(text, "\\\n", " ")
	var out []Define
	for _, line := range strings.Split(text, "\n") {
		m := defineLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		body := strings.TrimSpace(lineComment.ReplaceAllString(m[3], ""))
		if body == "" {
			continue
		}
		out = append(out, Define{Name: m[1], Body: body})
	}
	return out
}

// DefineSet collects the bodies each macro name has across many headers.
type DefineSet map[string]map[string]bool

// Add records the defines of one header.
func (s DefineSet) Add(defs []Define) {
	for _, d := range defs {
		b := s[d.Name]
		if b == nil {
			b = map[string]bool{}
			s[d.Name] = b
		}
		b[d.Body] = true
	}
}

// Single returns the macros defined with one body only: those whose value
// does not depend on configuration or architecture branches.
func (s DefineSet) Single() map[string]string {
	out := map[string]string{}
	for n, bodies := range s {
		if len(bodies) != 1 {
			continue
		}
		for b := range bodies {
			out[n] = b
		}
	}
	return out
}

// AddDir records the defines of the .h files directly in dir (a missing dir
// is skipped).
func (s DefineSet) AddDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".h") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		s.Add(ParseDefines(data))
	}
	return nil
}

// AddTree records the defines of every .h file under dir (a missing dir is
// skipped).
func (s DefineSet) AddTree(dir string) error {
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			if path == dir && os.IsNotExist(err) {
				return filepath.SkipDir
			}
			return err
		}
		if e.IsDir() || !strings.HasSuffix(path, ".h") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		s.Add(ParseDefines(data))
		return nil
	})
	if os.IsNotExist(err) {
		return nil
	}
	return err
}

var (
	macroCandidate = regexp.MustCompile(`^(?:[A-Z][A-Z0-9_]*|__NR_\w+)$`)
	macroBody      = regexp.MustCompile(`^[\w\s()<>|&~+\-*/^]+$`)
	numberLiteral  = regexp.MustCompile(`\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\b`)
	identifier     = regexp.MustCompile(`[A-Za-z_]\w*`)
	fieldAlias     = regexp.MustCompile(`^[a-z_]\w*(\.[a-z_]\w*)+$`)
)

// IsMacroCandidate says whether a define may be harvested: an upper-case
// (or __NR_) constant whose body is an expression of numbers, operators and
// identifiers, or a lower-case field alias (sk_family).
func IsMacroCandidate(name, body string) bool {
	if macroCandidate.MatchString(name) && macroBody.MatchString(body) {
		return true
	}
	return fieldAlias.MatchString(body) && !strings.HasPrefix(name, "__")
}

// preludeIdents are the names the prelude of macros.h defines, usable in
// harvested macro bodies.
var preludeIdents = map[string]bool{
	"__force": true, "__bitwise": true, "_AC": true, "_AT": true, "UL": true, "ULL": true,
	"BIT": true, "BIT_ULL": true, "_BITUL": true, "_BITULL": true, "GENMASK": true,
	"_UL": true, "_ULL": true,
}

// resolveMacros keeps the candidate numeric macros whose bodies use only
// numbers, operators, other kept macros, the prelude's helpers and the
// BTF's upper-case constants and typedef names. A macro named like a BTF
// identifier is dropped: the BTF defines that name already.
func resolveMacros(cands map[string]string, btfIdents, typedefs map[string]bool) map[string]string {
	ok := map[string]string{}
	for changed := true; changed; {
		changed = false
		for n, b := range cands {
			if _, done := ok[n]; done || btfIdents[n] || !macroCandidate.MatchString(n) || !macroBody.MatchString(b) {
				continue
			}
			rest := numberLiteral.ReplaceAllString(b, "")
			ids := identifier.FindAllString(rest, -1)
			good := true
			for _, id := range ids {
				if _, isMacro := ok[id]; isMacro || preludeIdents[id] || (btfIdents[id] && (strings.ToUpper(id) == id || typedefs[id])) {
					continue
				}
				good = false
				break
			}
			if good && strings.ContainsAny(b+strings.Join(ids, ""), "0123456789") {
				ok[n] = b
				changed = true
			}
		}
	}
	return ok
}

// fieldAliases keeps the macros that rename a member path (sk_family ->
// __sk_common.skc_family) whose first member exists in the BTF.
func fieldAliases(cands map[string]string, btfMembers, btfIdents map[string]bool) map[string]string {
	out := map[string]string{}
	for n, b := range cands {
		if !fieldAlias.MatchString(b) || btfMembers[n] || btfIdents[n] {
			continue
		}
		first, _, _ := strings.Cut(b, ".")
		if btfMembers[first] {
			out[n] = b
		}
	}
	return out
}

// prelude is what kernel code takes for granted from headers BTF cannot
// describe: annotations, the usual helpers, and the BIT/GENMASK family that
// harvested constants are written in.
const prelude = `#ifndef NULL
#define NULL ((void *)0)
#endif
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#ifndef noinline
#define noinline __attribute__((noinline))
#endif
#ifndef offsetof
#define offsetof(T, m) __builtin_offsetof(T, m)
#endif
#ifndef container_of
#define container_of(ptr, type, member) ({ void *__mptr = (void *)(ptr); ((type *)(__mptr - offsetof(type, member))); })
#endif
#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#endif
#ifndef unlikely
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif
#define _AC(X,Y) (X##Y)
#define _AT(T,X) ((T)(X))
#define _UL(x) (_AC(x, UL))
#define _ULL(x) (_AC(x, ULL))
#define UL(x) (_UL(x))
#define ULL(x) (_ULL(x))
#define _BITUL(x) (_UL(1) << (x))
#define _BITULL(x) (_ULL(1) << (x))
#ifndef BIT
#define BIT(nr) (UL(1) << (nr))
#endif
#define BIT_ULL(nr) (ULL(1) << (nr))
#define GENMASK(h, l) (((~UL(0)) - (UL(1) << (l)) + 1) & (~UL(0) >> (63 - (h))))
#define GENMASK_ULL(h, l) (((~ULL(0)) - (ULL(1) << (l)) + 1) & (~ULL(0) >> (63 - (h))))
#define __aligned_u64 __u64 __attribute__((aligned(8)))
#define __aligned_be64 __be64 __attribute__((aligned(8)))
#define __aligned_le64 __le64 __attribute__((aligned(8)))
#define __user
#define __kernel
#define __rcu
#define __percpu
#define __iomem
#define __force
#define __bitwise
#define __must_check
#define __safe
#define __packed __attribute__((packed))
#define __aligned(x) __attribute__((aligned(x)))
#ifndef __maybe_unused
#define __maybe_unused __attribute__((unused))
#endif
#define roundup_pow_of_two(n) ((n) <= 1 ? 1UL : (1UL << (64 - __builtin_clzl((unsigned long)(n) - 1))))
#define is_power_of_2(n) ((n) != 0 && (((n) & ((n) - 1)) == 0))
#ifndef READ_ONCE
#define READ_ONCE(x) (*(volatile typeof(x) *)&(x))
#endif
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif
#define __swab16(x) ((__u16)__builtin_bswap16((__u16)(x)))
#define __swab32(x) ((__u32)__builtin_bswap32((__u32)(x)))
#define __swab64(x) ((__u64)__builtin_bswap64((__u64)(x)))
#define swab16 __swab16
#define swab32 __swab32
#define swab64 __swab64
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define __cpu_to_be16(x) __swab16(x)
#define __cpu_to_be32(x) __swab32(x)
#define __cpu_to_be64(x) __swab64(x)
#define __cpu_to_le16(x) ((__u16)(x))
#define __cpu_to_le32(x) ((__u32)(x))
#define __cpu_to_le64(x) ((__u64)(x))
#else
#define __cpu_to_be16(x) ((__u16)(x))
#define __cpu_to_be32(x) ((__u32)(x))
#define __cpu_to_be64(x) ((__u64)(x))
#define __cpu_to_le16(x) __swab16(x)
#define __cpu_to_le32(x) __swab32(x)
#define __cpu_to_le64(x) __swab64(x)
#endif
#define __be16_to_cpu(x) __cpu_to_be16(x)
#define __be32_to_cpu(x) __cpu_to_be32(x)
#define __be64_to_cpu(x) __cpu_to_be64(x)
#define __le16_to_cpu(x) __cpu_to_le16(x)
#define __le32_to_cpu(x) __cpu_to_le32(x)
#define __le64_to_cpu(x) __cpu_to_le64(x)
#define cpu_to_be16 __cpu_to_be16
#define cpu_to_be32 __cpu_to_be32
#define cpu_to_be64 __cpu_to_be64
#define be16_to_cpu __be16_to_cpu
#define be32_to_cpu __be32_to_cpu
#define be64_to_cpu __be64_to_cpu
#define cpu_to_le16 __cpu_to_le16
#define cpu_to_le32 __cpu_to_le32
#define cpu_to_le64 __cpu_to_le64
#define le16_to_cpu __le16_to_cpu
#define le32_to_cpu __le32_to_cpu
#define le64_to_cpu __le64_to_cpu
#define __constant_htons(x) __cpu_to_be16(x)
#define __constant_ntohs(x) __be16_to_cpu(x)
#define __constant_htonl(x) __cpu_to_be32(x)
#define __constant_ntohl(x) __be32_to_cpu(x)
#ifndef htons
#define htons(x) __cpu_to_be16(x)
#define ntohs(x) __be16_to_cpu(x)
#define htonl(x) __cpu_to_be32(x)
#define ntohl(x) __be32_to_cpu(x)
#endif
#ifndef PAGE_SHIFT
#define PAGE_SHIFT 12
#define PAGE_SIZE (_AC(1,UL) << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE-1))
#endif
#ifndef S_ISREG
#define S_ISLNK(m) (((m) & 00170000) == 0120000)
#define S_ISREG(m) (((m) & 00170000) == 0100000)
#define S_ISDIR(m) (((m) & 00170000) == 0040000)
#define S_ISCHR(m) (((m) & 00170000) == 0020000)
#define S_ISBLK(m) (((m) & 00170000) == 0060000)
#define S_ISFIFO(m) (((m) & 00170000) == 0010000)
#define S_ISSOCK(m) (((m) & 00170000) == 0140000)
#endif
#define IS_ERR_VALUE(x) ((unsigned long)(void *)(x) >= (unsigned long)-4095)
#ifndef min
#define min(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef max
#define max(a, b) ((a) > (b) ? (a) : (b))
#endif
`

//go:generate go run ./internal/gen -src /usr/src/linux-headers-6.1.0-57-common -libbcc /usr/lib/x86_64-linux-gnu/libbcc.so.0 -out data.txt

// data is what gobcc carries for hosts without kernel headers, generated
// from Debian's 6.1 headers and libbcc 0.26 (see internal/gen): the header
// paths of a kernel tree, kernel-internal numeric and field-alias macros,
// and the names libbcc's own headers define. Lines are "kind\tname[\tvalue]".
//
//go:embed data.txt
var data []byte

// embedded is data split by kind.
type embedded struct {
	paths    []string
	macros   map[string]string
	excluded Excluded
}

func loadEmbedded() embedded {
	e := embedded{
		macros:   map[string]string{},
		excluded: Excluded{Tags: map[string]bool{}, Idents: map[string]bool{}, Typedefs: map[string]bool{}, HeaderTags: map[string]bool{}},
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		kind, rest, _ := strings.Cut(sc.Text(), "\t")
		name, value, _ := strings.Cut(rest, "\t")
		switch kind {
		case "path":
			e.paths = append(e.paths, name)
		case "macro":
			e.macros[name] = value
		case "tag":
			e.excluded.Tags[name] = true
		case "htag":
			e.excluded.HeaderTags[name] = true
		case "ident":
			e.excluded.Idents[name] = true
		case "typedef":
			e.excluded.Typedefs[name] = true
		}
	}
	sort.Strings(e.paths)
	return e
}
