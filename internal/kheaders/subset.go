package kheaders

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/cilium/ebpf/btf"
)

// Per-program type subsets.
//
// Every compile through the whole generated tree makes clang parse all of
// the kernel's types (vmlinux.h, ~3 MB) and macros (macros.h, ~1.5 MB),
// twice (libbcc's rewriter and its code generation). libbcc has no
// precompiled-header hook, so instead a compile gets only what its program
// can reach: when the tree is generated, indexFile records every
// definition of vmlinux.h with what it needs, and every macro; a compile
// scans its program for identifiers and writes, once per identifier set,
// subsets/<sha256>/gobcc_program_types.h with the closure. The tree's
// kernel.h includes that file instead of the whole rendering when it is on
// the include path (__has_include), so the tree itself stays complete for
// BCC Python and everyone else.
//
// A type missing from a subset is a compile error, never a different
// layout: every type comes from the same BTF and is written the same way.
// The compiler retries with the whole tree when a compile through a subset
// fails (internal/compiler).

// indexFile is the type index written next to a generated tree's stamp.
const indexFile = "gobcc-types.idx"

// SubsetHeader is the file a subset directory holds; kernel.h includes it
// when it is on the include path.
const SubsetHeader = "gobcc_program_types.h"

// subsetsDir holds a tree's subsets, one directory per identifier set.
const subsetsDir = "subsets"

// maxSubsets is how many subsets a tree keeps; the least recently used go.
const maxSubsets = 512

// ErrBadIndex is wrapped when a tree's type index is missing or unreadable:
// the compile then uses the whole tree.
var ErrBadIndex = errors.New("kernel header type index unusable")

// typeIndex is the content of indexFile.
type typeIndex struct {
	Format string
	// Entries are the definitions of vmlinux.h in the order written there,
	// which is a dependency order: enums, then structs, unions and
	// typedefs.
	Entries []indexEntry
	// Macros are macros.h's definitions, name to body.
	Macros map[string]string
	// Inline are inline.h's helpers.
	Inline []indexInline
}

// indexEntry is one definition of vmlinux.h.
type indexEntry struct {
	Text string
	// Names are the names the definition makes visible: a tag, a typedef
	// name, enumerators.
	Names []string
	// Enum is set for enums (written before the forward declarations).
	Enum bool
	// Needs are entries that must be complete before this one (members by
	// value, typedef names, enum types of members).
	Needs []int32
	// Fwd are the "struct x" or "union x" declarations the definition's
	// pointers need.
	Fwd []string
	// PtrMembers are members that point to a struct or union: a program
	// that names the member may dereference it, which needs the target
	// complete.
	PtrMembers []ptrMember
}

type ptrMember struct {
	Member string
	Target int32
}

// indexInline is one helper of inline.h.
type indexInline struct {
	Text string
	// Names are the functions (and macros) it defines.
	Names []string
	// Structs are the structs its code dereferences.
	Structs []string
}

// recordedPtr is a pointer member as the dumper saw it.
type recordedPtr struct {
	member string
	target btf.Type
}

// recordedEntry is an indexEntry before btf.Types became entry numbers.
type recordedEntry struct {
	t     btf.Type
	text  string
	names []string
	enum  bool
	needs []btf.Type
	fwd   map[string]bool
	ptrs  []recordedPtr
}

// indexRecorder collects the index while the dumper writes vmlinux.h. Its
// methods do nothing on a nil recorder, so the dumper calls them always.
type indexRecorder struct {
	entries []*recordedEntry
	cur     *recordedEntry
	byType  map[btf.Type]int32
	byTag   map[string]int32 // struct and union tags, for forward types
}

func newIndexRecorder() *indexRecorder {
	return &indexRecorder{byType: map[btf.Type]int32{}, byTag: map[string]int32{}}
}

// begin starts the entry of the definition about to be rendered.
func (r *indexRecorder) begin() {
	if r == nil {
		return
	}
	r.cur = &recordedEntry{fwd: map[string]bool{}}
}

// need records that the current definition needs t complete.
func (r *indexRecorder) need(t btf.Type) {
	if r == nil || r.cur == nil {
		return
	}
	r.cur.needs = append(r.cur.needs, t)
}

// named records a use of a named struct, union or forward type: a
// declaration for a pointer, the definition otherwise.
func (r *indexRecorder) named(t btf.Type, decl string, pointee bool) {
	if r == nil || r.cur == nil {
		return
	}
	if pointee {
		r.cur.fwd[decl] = true
		return
	}
	r.cur.needs = append(r.cur.needs, t)
}

// add ends the current entry: t's definition, text, defining names.
func (r *indexRecorder) add(t btf.Type, text string, names []string, enum bool) {
	if r == nil {
		return
	}
	e := r.cur
	if e == nil || enum {
		e = &recordedEntry{fwd: map[string]bool{}}
	}
	e.t, e.text, e.names, e.enum = t, text, names, enum
	n := int32(len(r.entries))
	r.entries = append(r.entries, e)
	r.byType[t] = n
	if !enum {
		switch t.(type) {
		case *btf.Struct, *btf.Union:
			if _, ok := r.byTag[t.TypeName()]; !ok {
				r.byTag[t.TypeName()] = n
			}
		}
	}
	r.cur = nil
}

// entryOf finds the entry defining t (a forward type: the struct or union
// of its name).
func (r *indexRecorder) entryOf(t btf.Type) (int32, bool) {
	if n, ok := r.byType[t]; ok {
		return n, true
	}
	if f, ok := t.(*btf.Fwd); ok {
		n, ok := r.byTag[f.Name]
		return n, ok
	}
	return 0, false
}

// index turns the recorded entries into a typeIndex.
func (r *indexRecorder) index() typeIndex {
	idx := typeIndex{Format: formatVersion, Entries: make([]indexEntry, len(r.entries))}
	for i, e := range r.entries {
		out := indexEntry{Text: e.text, Names: e.names, Enum: e.enum}
		seen := map[int32]bool{int32(i): true}
		for _, t := range e.needs {
			if n, ok := r.entryOf(t); ok && !seen[n] {
				seen[n] = true
				out.Needs = append(out.Needs, n)
			}
		}
		for f := range e.fwd {
			out.Fwd = append(out.Fwd, f)
		}
		sort.Strings(out.Fwd)
		for _, p := range e.ptrs {
			if n, ok := r.entryOf(p.target); ok {
				out.PtrMembers = append(out.PtrMembers, ptrMember{p.member, n})
			}
		}
		idx.Entries[i] = out
	}
	return idx
}

// derefTarget is the named struct or union (or forward type) that
// dereferencing a value of type t reaches, through typedefs, qualifiers,
// arrays and pointers to pointers, or nil when t is no pointer to one.
func derefTarget(t btf.Type) btf.Type {
	pointer := false
	for {
		switch u := t.(type) {
		case *btf.Typedef:
			t = u.Type
		case *btf.Const:
			t = u.Type
		case *btf.Volatile:
			t = u.Type
		case *btf.Restrict:
			t = u.Type
		case *btf.TypeTag:
			t = u.Type
		case *btf.Array:
			t = u.Type
		case *btf.Pointer:
			pointer = true
			t = u.Target
		case *btf.Struct, *btf.Union, *btf.Fwd:
			if !pointer || t.TypeName() == "" {
				return nil
			}
			return t
		default:
			return nil
		}
	}
}

// writeIndex writes idx to dir/indexFile.
func writeIndex(dir string, idx typeIndex) error {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(idx); err != nil {
		return fmt.Errorf("encode type index: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, indexFile), b.Bytes(), 0o600)
}

// readIndex reads a tree's index.
func readIndex(tree string) (*typeIndex, error) {
	data, err := os.ReadFile(filepath.Join(tree, indexFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadIndex, err)
	}
	var idx typeIndex
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&idx); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadIndex, indexFile, err)
	}
	if idx.Format != formatVersion {
		return nil, fmt.Errorf("%w: %s is of format %q, not %q", ErrBadIndex, indexFile, idx.Format, formatVersion)
	}
	n := int32(len(idx.Entries))
	for _, e := range idx.Entries {
		for _, d := range e.Needs {
			if d < 0 || d >= n {
				return nil, fmt.Errorf("%w: %s: entry number %d out of range", ErrBadIndex, indexFile, d)
			}
		}
		for _, p := range e.PtrMembers {
			if p.Target < 0 || p.Target >= n {
				return nil, fmt.Errorf("%w: %s: entry number %d out of range", ErrBadIndex, indexFile, p.Target)
			}
		}
	}
	return &idx, nil
}

// closure returns the subset header for a program whose identifiers are
// idents, and how many of the index's definitions and macros it holds.
func (idx *typeIndex) closure(idents map[string]bool) (text []byte, types, macros int) {
	// Macros first: their bodies name more identifiers (field aliases name
	// members, constants name enumerators and other macros).
	usedMacros := map[string]bool{}
	var work []string
	for id := range idents {
		work = append(work, id)
	}
	addIdent := func(id string) {
		if !idents[id] {
			idents[id] = true
			work = append(work, id)
		}
	}
	usedInline := map[int]bool{}
	inlineByName := map[string][]int{}
	for i, h := range idx.Inline {
		for _, n := range h.Names {
			inlineByName[n] = append(inlineByName[n], i)
		}
	}
	for len(work) > 0 {
		id := work[len(work)-1]
		work = work[:len(work)-1]
		if body, ok := idx.Macros[id]; ok && !usedMacros[id] {
			usedMacros[id] = true
			for _, b := range scanIdents(body) {
				addIdent(b)
			}
		}
		for _, i := range inlineByName[id] {
			if !usedInline[i] {
				usedInline[i] = true
				for _, s := range idx.Inline[i].Structs {
					addIdent(s)
				}
				for _, b := range scanIdents(idx.Inline[i].Text) {
					addIdent(b)
				}
			}
		}
	}

	byName := map[string][]int32{}
	for i, e := range idx.Entries {
		for _, n := range e.Names {
			if idents[n] {
				byName[n] = append(byName[n], int32(i))
			}
		}
	}
	used := make([]bool, len(idx.Entries))
	var queue []int32
	include := func(n int32) {
		if !used[n] {
			used[n] = true
			queue = append(queue, n)
		}
	}
	for _, ns := range byName {
		for _, n := range ns {
			include(n)
		}
	}
	fwd := map[string]bool{}
	for len(queue) > 0 {
		n := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		e := &idx.Entries[n]
		for _, d := range e.Needs {
			include(d)
		}
		for _, f := range e.Fwd {
			fwd[f] = true
		}
		for _, p := range e.PtrMembers {
			if idents[p.Member] {
				include(p.Target)
			}
		}
	}

	var b bytes.Buffer
	b.WriteString("/* The kernel types and macros one program can reach, generated by gobcc from\n * the tree's gobcc-types.idx. */\n#ifndef __GOBCC_PROGRAM_TYPES_H__\n#define __GOBCC_PROGRAM_TYPES_H__\n#include <gobcc/types.h>\n\n")
	for i, e := range idx.Entries {
		if used[i] && e.Enum {
			b.WriteString(e.Text)
			types++
		}
	}
	for _, f := range sortedNames(fwd) {
		b.WriteString(f)
		b.WriteString(";\n")
	}
	b.WriteString("\n")
	for i, e := range idx.Entries {
		if used[i] && !e.Enum {
			b.WriteString(e.Text)
			types++
		}
	}
	for _, n := range sortedNames(usedMacros) {
		fmt.Fprintf(&b, "#define %s %s\n", n, idx.Macros[n])
	}
	for i, h := range idx.Inline {
		if usedInline[i] {
			b.WriteString(h.Text)
		}
	}
	b.WriteString("#endif /* __GOBCC_PROGRAM_TYPES_H__ */\n")
	return b.Bytes(), types, len(usedMacros)
}

// scanIdents returns the C identifiers of text (numbers' suffixes and hex
// digits are not identifiers; comments and strings are scanned too, which
// only makes a subset larger).
func scanIdents(text string) []string {
	var out []string
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i + 1
			for j < len(text) && isIdentByte(text[j]) {
				j++
			}
			out = append(out, text[i:j])
			i = j
		case c >= '0' && c <= '9':
			for i < len(text) && isIdentByte(text[i]) {
				i++
			}
		default:
			i++
		}
	}
	return out
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

var includeLine = regexp.MustCompile(`(?m)^[ \t]*#[ \t]*include`)

var quotedIncludeLine = regexp.MustCompile(`(?m)^[ \t]*#[ \t]*include[ \t]*"([^"]+)"`)

// maxScannedHeaders bounds how many #include "..." files a program's scan
// follows.
const maxScannedHeaders = 256

// ProgramIdents returns the identifiers of a program's text and of the
// local headers it includes with #include "..." (found in quoteDirs, each
// included file's own directory first), and whether any of them includes
// a header at all (a program that includes none needs no kernel type).
func ProgramIdents(text string, quoteDirs []string) (idents map[string]bool, includes bool) {
	idents = map[string]bool{}
	seen := map[string]bool{}
	var scan func(text string, dirs []string)
	scan = func(text string, dirs []string) {
		for _, id := range scanIdents(text) {
			idents[id] = true
		}
		includes = includes || includeLine.MatchString(text)
		for _, m := range quotedIncludeLine.FindAllStringSubmatch(text, -1) {
			name := m[1]
			for _, d := range dirs {
				p := name
				if !filepath.IsAbs(p) {
					p = filepath.Join(d, name)
				}
				if seen[p] {
					break
				}
				data, err := os.ReadFile(p)
				if err != nil {
					continue
				}
				seen[p] = true
				if len(seen) <= maxScannedHeaders {
					scan(string(data), append([]string{filepath.Dir(p)}, dirs...))
				}
				break
			}
		}
	}
	scan(text, quoteDirs)
	return idents, includes
}

// Subset is a program's type subset.
type Subset struct {
	// Dir is the directory to put on the include path (-I), holding
	// SubsetHeader.
	Dir string
	// Created is true when this call wrote it.
	Created bool
	// Types and Macros count the definitions it holds (only when Created).
	Types, Macros int
	// Size is SubsetHeader's size in bytes (only when Created).
	Size int
}

// subsetFailedFile marks a subset a compile failed with: the compiler then
// goes straight to the whole tree for that program.
const subsetFailedFile = "failed"

// ProgramSubset returns the subset of tree's types for a program with the
// given identifiers, writing it when it does not exist yet. It returns an
// empty Subset and no error when tree is no generated tree (installed
// headers, a directory of the user's) or the subset failed a compile
// before; an error (wrapping ErrBadIndex for a missing or corrupt index)
// when it cannot make one: the compile should then use the whole tree.
func ProgramSubset(tree string, idents map[string]bool) (Subset, error) {
	if _, err := os.Stat(filepath.Join(tree, stampFile)); err != nil {
		return Subset{}, nil
	}
	names := sortedNames(idents)
	h := sha256.New()
	for _, n := range names {
		h.Write([]byte(n))
		h.Write([]byte{'\n'})
	}
	base := filepath.Join(tree, subsetsDir)
	dir := filepath.Join(base, hex.EncodeToString(h.Sum(nil)))
	if fi, err := os.Lstat(dir); err == nil {
		if err := checkSubsetDir(dir, fi); err != nil {
			return Subset{}, err
		}
		if _, err := os.Stat(filepath.Join(dir, subsetFailedFile)); err == nil {
			return Subset{}, nil
		}
		if _, err := os.Stat(filepath.Join(dir, SubsetHeader)); err == nil {
			now := time.Now()
			os.Chtimes(dir, now, now) // for the least-recently-used pruning
			return Subset{Dir: dir}, nil
		}
	}
	idx, err := readIndex(tree)
	if err != nil {
		return Subset{}, err
	}
	text, types, macros := idx.closure(idents)
	if err := makePrivateDir(base); err != nil {
		return Subset{}, err
	}
	tmp, err := os.MkdirTemp(base, ".tmp-")
	if err != nil {
		return Subset{}, fmt.Errorf("type subset: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := os.WriteFile(filepath.Join(tmp, SubsetHeader), text, 0o600); err != nil {
		return Subset{}, fmt.Errorf("type subset: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another compile wrote the same subset meanwhile.
		if fi, lerr := os.Lstat(dir); lerr == nil && checkSubsetDir(dir, fi) == nil {
			return Subset{Dir: dir}, nil
		}
		return Subset{}, fmt.Errorf("type subset: %w", err)
	}
	pruneSubsets(base, maxSubsets)
	return Subset{Dir: dir, Created: true, Types: types, Macros: macros, Size: len(text)}, nil
}

// MarkSubsetFailed records that a compile failed through the subset dir and
// passed through the whole tree, so the next compile of the same program
// skips the subset.
func MarkSubsetFailed(dir string) error {
	return os.WriteFile(filepath.Join(dir, subsetFailedFile), nil, 0o600)
}

// checkSubsetDir verifies a subset directory as the tree's: this user's,
// mode 0700.
func checkSubsetDir(dir string, fi os.FileInfo) error {
	if err := checkOwner(fi); err != nil {
		return fmt.Errorf("type subset %s: %w", dir, err)
	}
	if fi.Mode().Perm() != 0o700 {
		return fmt.Errorf("type subset %s: mode %v, want 0700", dir, fi.Mode().Perm())
	}
	return nil
}

// pruneSubsets removes the least recently used subsets beyond keep.
func pruneSubsets(base string, keep int) {
	entries, err := os.ReadDir(base)
	if err != nil || len(entries) <= keep {
		return
	}
	type aged struct {
		name string
		mod  time.Time
	}
	var all []aged
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			continue
		}
		if fi, err := e.Info(); err == nil {
			all = append(all, aged{e.Name(), fi.ModTime()})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].mod.After(all[j].mod) })
	for _, a := range all[min(keep, len(all)):] {
		os.RemoveAll(filepath.Join(base, a.name))
	}
}
