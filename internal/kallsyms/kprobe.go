package kallsyms

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

// KprobeFunctions lists, sorted and without duplicates, the kernel
// functions of /proc/kallsyms that eventRe matches at their start
// (Python's re.match, as BCC 0.26's get_kprobe_functions) and that a
// kprobe may probe: text symbols outside the init and irqentry sections,
// not in the first blacklist file of blacklistPaths that exists, and not
// perf, __SCT__, _kbl_addr_ or .cold symbols. No blacklist file (a kernel
// without kprobes) counts as an empty list, where BCC raises.
func KprobeFunctions(eventRe string, blacklistPaths []string) ([]string, error) {
	re, err := regexp.Compile(`^(?:` + eventRe + `)`)
	if err != nil {
		return nil, fmt.Errorf("kprobe regexp: %w", err)
	}
	blacklist, err := ReadKprobeBlacklist(blacklistPaths)
	if err != nil {
		return nil, err
	}
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return nil, fmt.Errorf("kprobe functions: %w", err)
	}
	defer f.Close()
	return FilterKprobeFunctions(f, re, blacklist)
}

// ReadKprobeBlacklist reads the first blacklist file that exists; none
// existing, or none readable for lack of permission, gives an empty list.
func ReadKprobeBlacklist(paths []string) (map[string]bool, error) {
	out := make(map[string]bool)
	for _, p := range paths {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("kprobe blacklist: %w", err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// "0xffffffff81000000-0xffffffff81000010\tfunction"
			if fields := strings.Fields(sc.Text()); len(fields) >= 2 {
				out[fields[1]] = true
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("kprobe blacklist %s: %w", p, err)
		}
		return out, nil
	}
	return out, nil
}

var coldSuffix = regexp.MustCompile(`\.cold(\.\d+)?$`)

// FilterKprobeFunctions applies BCC's filter to kallsyms text in file
// order: the init and irqentry sections are recognised by their boundary
// symbols.
func FilterKprobeFunctions(r io.Reader, re *regexp.Regexp, blacklist map[string]bool) ([]string, error) {
	const (
		before = iota
		inside
		after
	)
	initSection, irqSection := before, before
	seen := make(map[string]bool)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 {
			continue
		}
		typ, fn := fields[1], fields[2]
		switch initSection {
		case before:
			if fn == "__init_begin" {
				initSection = inside
				continue
			}
		case inside:
			if fn == "__init_end" {
				initSection = after
			}
			continue
		}
		switch irqSection {
		case before:
			if fn == "__irqentry_text_start" {
				irqSection = inside
				continue
			}
			// __irqentry_text_end may come first when the section is empty.
			if fn == "__irqentry_text_end" {
				irqSection = after
				continue
			}
		case inside:
			if fn == "__irqentry_text_end" {
				irqSection = after
			}
			continue
		}
		switch {
		case strings.HasPrefix(fn, "_kbl_addr_"),
			strings.HasPrefix(fn, "__perf"), strings.HasPrefix(fn, "perf_"),
			strings.HasPrefix(fn, "__SCT__"),
			coldSuffix.MatchString(fn):
			continue
		}
		if (typ == "t" || typ == "T" || typ == "w" || typ == "W") && re.MatchString(fn) && !blacklist[fn] {
			seen[fn] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("kallsyms: %w", err)
	}
	out := make([]string, 0, len(seen))
	for fn := range seen {
		out = append(out, fn)
	}
	sort.Strings(out)
	return out, nil
}
