package tracefs

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ErrTracepointNotFound means no tracepoint has the requested name.
var ErrTracepointNotFound = errors.New("tracepoint not found")

// maxSuggestions bounds the "did you mean" list of a not-found error.
const maxSuggestions = 5

// TracepointID returns the ID of tracepoint category:name, read from
// events/<category>/<name>/id, as perf_event_open wants it. When the
// tracepoint does not exist the error wraps ErrTracepointNotFound and lists
// up to five similar existing tracepoints.
func TracepointID(category, name string) (uint64, error) {
	dir, err := Dir()
	if err != nil {
		return 0, err
	}
	return tracepointIDAt(dir, category, name)
}

func tracepointIDAt(dir, category, name string) (uint64, error) {
	if !validEventPart(category) || !validEventPart(name) {
		return 0, fmt.Errorf("tracepoint %q: invalid name: %w", category+":"+name, ErrTracepointNotFound)
	}
	content, err := os.ReadFile(filepath.Join(dir, "events", category, name, "id"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, notFoundError(dir, category, name)
	}
	if err != nil {
		return 0, fmt.Errorf("tracepoint %s:%s: %w", category, name, err)
	}
	id, err := strconv.ParseUint(strings.TrimSpace(string(content)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("tracepoint %s:%s: id %q: %w", category, name, content, ErrUnexpectedFormat)
	}
	return id, nil
}

// TracepointExists reports whether tracepoint category:name exists, as BCC's
// BPF.tracepoint_exists does. It is false when tracefs is not mounted.
func TracepointExists(category, name string) bool {
	dir, err := Dir()
	if err != nil {
		return false
	}
	return tracepointExistsAt(dir, category, name)
}

func tracepointExistsAt(dir, category, name string) bool {
	if !validEventPart(category) || !validEventPart(name) {
		return false
	}
	info, err := os.Stat(filepath.Join(dir, "events", category, name))
	return err == nil && info.IsDir()
}

// Tracepoints lists the tracepoints, as "category:name" sorted, whose name
// re matches at its start, the way BCC's BPF.get_tracepoints uses Python's
// re.match: "sched:" matches every sched tracepoint, and a pattern that must
// match the whole name needs a trailing "$". A nil re lists them all.
func Tracepoints(re *regexp.Regexp) ([]string, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	return tracepointsAt(dir, re)
}

func tracepointsAt(dir string, re *regexp.Regexp) ([]string, error) {
	all, err := allTracepoints(dir)
	if err != nil {
		return nil, err
	}
	if re == nil {
		return all, nil
	}
	matching := all[:0]
	for _, tracepoint := range all {
		// FindStringIndex finds the leftmost match, so a match starting at
		// 0 exists exactly when the leftmost one starts there.
		if loc := re.FindStringIndex(tracepoint); loc != nil && loc[0] == 0 {
			matching = append(matching, tracepoint)
		}
	}
	return matching, nil
}

// allTracepoints lists every events/<category>/<name> directory as
// "category:name", sorted.
func allTracepoints(dir string) ([]string, error) {
	eventsDir := filepath.Join(dir, "events")
	categories, err := os.ReadDir(eventsDir)
	if err != nil {
		return nil, fmt.Errorf("list tracepoints: %w", err)
	}
	var all []string
	for _, category := range categories {
		if !category.IsDir() {
			continue
		}
		events, err := os.ReadDir(filepath.Join(eventsDir, category.Name()))
		if err != nil {
			// A category can vanish while we list (a module unloading, an
			// instance being removed); the others are still worth listing.
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("list tracepoints: %w", err)
		}
		for _, event := range events {
			if event.IsDir() {
				all = append(all, category.Name()+":"+event.Name())
			}
		}
	}
	// Sorted per directory is not sorted overall: "ext4:x" < "ext:x".
	slices.Sort(all)
	return all, nil
}

// validEventPart rejects names that would leave events/ when joined into a
// path.
func validEventPart(part string) bool {
	return part != "" && part != "." && part != ".." && !strings.ContainsAny(part, "/\x00")
}

// notFoundError builds the ErrTracepointNotFound error for category:name,
// suggesting similar existing tracepoints.
func notFoundError(dir, category, name string) error {
	wanted := category + ":" + name
	all, err := allTracepoints(dir)
	if err != nil {
		return fmt.Errorf("tracepoint %s: %w", wanted, ErrTracepointNotFound)
	}
	suggestions := similarTracepoints(all, category, name, maxSuggestions)
	if len(suggestions) == 0 {
		return fmt.Errorf("tracepoint %s: %w", wanted, ErrTracepointNotFound)
	}
	return fmt.Errorf("tracepoint %s: %w; similar: %s", wanted, ErrTracepointNotFound, strings.Join(suggestions, ", "))
}

// similarTracepoints picks up to limit tracepoints from all ("cat:name")
// that look like a misspelling of category:name: those in the same category
// first, then by edit distance. A name counts as similar when its edit
// distance is small for its length or when one name contains the other
// ("sched:switch" for "sched:sched_switch").
func similarTracepoints(all []string, category, name string, limit int) []string {
	type candidate struct {
		tracepoint   string
		sameCategory bool
		distance     int
	}
	wanted := category + ":" + name
	var candidates []candidate
	for _, tracepoint := range all {
		candidateCategory, candidateName, _ := strings.Cut(tracepoint, ":")
		sameCategory := candidateCategory == category
		var distance int
		if sameCategory {
			distance = editDistance(name, candidateName)
		} else {
			distance = editDistance(wanted, tracepoint)
		}
		// Very short names would be contained in too many others.
		contains := (len(name) >= 3 && strings.Contains(candidateName, name)) ||
			(len(candidateName) >= 4 && strings.Contains(name, candidateName))
		if distance > similarityThreshold(name) && !contains {
			continue
		}
		candidates = append(candidates, candidate{tracepoint, sameCategory, distance})
	}
	slices.SortFunc(candidates, func(a, b candidate) int {
		if a.sameCategory != b.sameCategory {
			if a.sameCategory {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.distance, b.distance), strings.Compare(a.tracepoint, b.tracepoint))
	})
	suggestions := make([]string, 0, min(limit, len(candidates)))
	for _, c := range candidates[:min(limit, len(candidates))] {
		suggestions = append(suggestions, c.tracepoint)
	}
	return suggestions
}

// similarityThreshold is the largest edit distance still taken for a typo:
// two edits for short names, a third of the name for long ones.
func similarityThreshold(name string) int {
	return max(2, len(name)/3)
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	previous := make([]int, len(b)+1)
	current := make([]int, len(b)+1)
	for j := range previous {
		previous[j] = j
	}
	for i := 1; i <= len(a); i++ {
		current[0] = i
		for j := 1; j <= len(b); j++ {
			substitution := previous[j-1]
			if a[i-1] != b[j-1] {
				substitution++
			}
			current[j] = min(substitution, previous[j]+1, current[j-1]+1)
		}
		previous, current = current, previous
	}
	return previous[len(b)]
}
