// Package srcmap relates what clang and the verifier say about libbcc's
// rewritten copy of a BPF program to the user's own file: verifier-log
// source references, clang diagnostics and libbcc's hints.
package srcmap

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// libbcc compiles a rewritten copy of the program: it expands BCC macros
// and adds declarations (a tracepoint's argument struct, for one), so the
// line numbers in BTF line info, and hence in verifier logs
// ("; c += *count; @ main.c:30"), count lines of that copy, not of the
// user's file. The verifier log quotes each source line it refers to, so the
// user's line is found by matching that text; lines that libbcc rewrote
// (map calls become bpf_map_*_elem) take the offset of their nearest exactly
// matched neighbour.

var logSourceRef = regexp.MustCompile(`^; (.*) @ main\.c:(\d+)$`)

// Mapper maps line numbers of libbcc's rewritten copy of a program to the
// user's lines. It is immutable once made and safe for concurrent use.
type Mapper struct {
	file  string
	lines map[string][]int // trimmed user line -> 1-based line numbers
}

// New indexes the user's source, whose name in messages is file.
func New(source, file string) *Mapper {
	m := &Mapper{file: file, lines: make(map[string][]int)}
	for i, l := range strings.Split(source, "\n") {
		t := strings.TrimSpace(l)
		if t != "" {
			m.lines[t] = append(m.lines[t], i+1)
		}
	}
	return m
}

// MapLog rewrites "@ main.c:N" references in a verifier log to "@ FILE:M".
func (m *Mapper) MapLog(log string) string {
	if log == "" || !strings.Contains(log, "@ main.c:") {
		return log
	}
	lines := strings.Split(log, "\n")
	type ref struct {
		idx, line int
		text      string
	}
	var refs []ref
	for i, l := range lines {
		if sm := logSourceRef.FindStringSubmatch(l); sm != nil {
			n, _ := strconv.Atoi(sm[2])
			refs = append(refs, ref{i, n, strings.TrimSpace(sm[1])})
		}
	}
	// Offsets (rewritten - user) known from exactly matching text. A text
	// that occurs several times in the user's file is taken at the
	// occurrence closest to the smallest plausible offset.
	deltas := make(map[int]int) // rewritten line -> delta
	for _, r := range refs {
		cands := m.lines[r.text]
		if len(cands) == 0 || r.line == 0 {
			continue
		}
		best := -1
		for _, c := range cands {
			if c <= r.line && (best < 0 || r.line-c < r.line-best) {
				best = c
			}
		}
		if best > 0 {
			deltas[r.line] = r.line - best
		}
	}
	for _, r := range refs {
		if r.line == 0 {
			continue
		}
		d, ok := deltas[r.line]
		if !ok {
			d, ok = nearestDelta(deltas, r.line)
		}
		if !ok {
			continue
		}
		lines[r.idx] = "; " + r.text + " @ " + m.file + ":" + strconv.Itoa(r.line-d)
	}
	return strings.Join(lines, "\n")
}

func nearestDelta(deltas map[int]int, line int) (int, bool) {
	bestLine, found := 0, false
	for l := range deltas {
		if !found || abs(l-line) < abs(bestLine-line) || (abs(l-line) == abs(bestLine-line) && l < bestLine) {
			bestLine, found = l, true
		}
	}
	if !found {
		return 0, false
	}
	return deltas[bestLine], true
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// UserLine finds the user's line for a line of libbcc's rewritten source
// whose text is known: the occurrence of the same text nearest at or
// before the rewritten line (libbcc only adds lines). It returns 0 when the
// text is not in the user's file.
func (m *Mapper) UserLine(text string, rewritten int) int {
	best := 0
	for _, c := range m.lines[strings.TrimSpace(text)] {
		if c <= rewritten && c > best {
			best = c
		}
	}
	if best == 0 {
		if cands := m.lines[strings.TrimSpace(text)]; len(cands) > 0 {
			best = cands[0]
		}
	}
	return best
}

// VirtualMain is the name libbcc compiles a program's text under; clang's
// messages use it.
const VirtualMain = "/virtual/main.c"

// Diagnostic is one message from clang. Its fields are those of
// bcc.Diagnostic, which converts from it.
type Diagnostic struct {
	File     string
	Line     int
	Column   int
	Severity string
	Message  string
	Source   string
}

var diagLine = regexp.MustCompile(`^(\S+?):(\d+):(\d+): (error|warning|note|fatal error|remark): (.*)$`)

// ParseDiagnostics reads clang's output. Messages about libbcc's own
// headers keep their names; those about the program get file.
func ParseDiagnostics(output, file string) []Diagnostic {
	var out []Diagnostic
	lines := strings.Split(output, "\n")
	for i := 0; i < len(lines); i++ {
		m := diagLine.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		d := Diagnostic{File: m[1], Severity: m[4], Message: m[5]}
		d.Line, _ = strconv.Atoi(m[2])
		d.Column, _ = strconv.Atoi(m[3])
		if d.File == VirtualMain {
			d.File = file
		}
		// clang follows a diagnostic with the source line and a caret line.
		if i+2 < len(lines) && strings.Contains(lines[i+2], "^") && !diagLine.MatchString(lines[i+1]) {
			d.Source = lines[i+1] + "\n" + lines[i+2]
			i += 2
		}
		out = append(out, d)
	}
	return out
}

// CompilerOutput turns a failed compile's output into diagnostics and
// output in terms of the user's file. clang reports some errors from
// libbcc's second pass, over its rewritten copy of the program, whose lines
// are shifted by what libbcc added; the source line clang quotes finds the
// user's line.
func (m *Mapper) CompilerOutput(output string) (diags []Diagnostic, mapped string) {
	mapped = strings.ReplaceAll(output, VirtualMain, m.file)
	diags = ParseDiagnostics(output, m.file)
	for i := range diags {
		d := &diags[i]
		if d.File != m.file || d.Source == "" {
			continue
		}
		quoted, _, _ := strings.Cut(d.Source, "\n")
		line := m.UserLine(quoted, d.Line)
		if line == 0 || line == d.Line {
			continue
		}
		old := fmt.Sprintf("%s:%d:%d:", m.file, d.Line, d.Column)
		d.Line = line
		mapped = strings.Replace(mapped, old, fmt.Sprintf("%s:%d:%d:", m.file, d.Line, d.Column), 1)
	}
	return diags, mapped
}

// Hint finds libbcc's "HINT: ..." paragraph in its output of a load.
func Hint(output string) string {
	i := strings.Index(output, "HINT: ")
	if i < 0 {
		return ""
	}
	hint := output[i:]
	if j := strings.Index(hint, "\n\n"); j >= 0 {
		hint = hint[:j]
	}
	return strings.TrimSpace(hint)
}

// processedInsns is the verifier log's summary line.
var processedInsns = regexp.MustCompile(`processed (\d+) insns`)

// ProcessedInsns returns the instruction count of a verifier log's last
// "processed N insns" line, and whether the log has one.
func ProcessedInsns(log string) (int, bool, error) {
	m := processedInsns.FindAllStringSubmatch(log, -1)
	if len(m) == 0 {
		return 0, false, nil
	}
	n, err := strconv.Atoi(m[len(m)-1][1])
	return n, true, err
}

// LastLines returns the last n non-empty lines of a log.
func LastLines(log string, n int) string {
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	var kept []string
	for i := len(lines) - 1; i >= 0 && len(kept) < n; i-- {
		if strings.TrimSpace(lines[i]) != "" {
			kept = append(kept, lines[i])
		}
	}
	for i, j := 0, len(kept)-1; i < j; i, j = i+1, j-1 {
		kept[i], kept[j] = kept[j], kept[i]
	}
	return strings.Join(kept, "\n")
}
