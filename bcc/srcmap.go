package bcc

import (
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

// sourceMapper maps rewritten line numbers to the user's lines.
type sourceMapper struct {
	file  string
	lines map[string][]int // trimmed user line -> 1-based line numbers
}

func newSourceMapper(source, file string) *sourceMapper {
	m := &sourceMapper{file: file, lines: make(map[string][]int)}
	for i, l := range strings.Split(source, "\n") {
		t := strings.TrimSpace(l)
		if t != "" {
			m.lines[t] = append(m.lines[t], i+1)
		}
	}
	return m
}

// mapLog rewrites "@ main.c:N" references in a verifier log to "@ FILE:M".
func (m *sourceMapper) mapLog(log string) string {
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

// userLine finds the user's line for a line of libbcc's rewritten source
// whose text is known: the occurrence of the same text nearest at or
// before the rewritten line (libbcc only adds lines). It returns 0 when the
// text is not in the user's file.
func (m *sourceMapper) userLine(text string, rewritten int) int {
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
