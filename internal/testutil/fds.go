package testutil

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// FDs maps each open descriptor of this process to what /proc/self/fd says
// it refers to ("anon_inode:bpf-map", "pipe:[123]", "/dev/null", ...).
// A descriptor closed while the directory is read is left out.
func FDs() (map[int]string, error) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, fmt.Errorf("list open descriptors: %w", err)
	}
	out := make(map[int]string, len(ents))
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue // closed since ReadDir (the directory's own fd among them)
		}
		out[fd] = target
	}
	return out, nil
}

// CountFDs returns how many descriptors this process has open. It fails
// the test when /proc/self/fd cannot be read.
func CountFDs(tb testing.TB) int {
	tb.Helper()
	fds, err := FDs()
	if err != nil {
		tb.Fatal(err)
	}
	return len(fds)
}

// ListFDsOfKind lists, sorted, this process's descriptors of one anonymous
// inode kind: "bpf-prog", "bpf-map", "bpf_link", "[perf_event]",
// "[eventpoll]", ... (the text after "anon_inode:").
func ListFDsOfKind(kind string) []int {
	fds, _ := FDs()
	var out []int
	for fd, target := range fds {
		if target == "anon_inode:"+kind {
			out = append(out, fd)
		}
	}
	sort.Ints(out)
	return out
}

// CountFDsOfKind returns len(ListFDsOfKind(kind)).
func CountFDsOfKind(kind string) int { return len(ListFDsOfKind(kind)) }

// FDKinds counts this process's anonymous-inode descriptors by kind
// ("bpf-prog", "bpf-map", "[perf_event]", ...). A program or map none of
// this process's descriptors refers to is freed by the kernel, so these
// counts show what a test left loaded without counting other processes'
// objects.
func FDKinds() map[string]int {
	fds, _ := FDs()
	out := make(map[string]int)
	for _, target := range fds {
		if kind, ok := strings.CutPrefix(target, "anon_inode:"); ok {
			out[kind]++
		}
	}
	return out
}

// Children lists the pids of the processes this process started that still
// exist (zombies included: a child not yet waited for is a leak too).
func Children() []int {
	tasks, _ := os.ReadDir("/proc/self/task")
	var out []int
	for _, task := range tasks {
		data, err := os.ReadFile("/proc/self/task/" + task.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil {
				out = append(out, pid)
			}
		}
	}
	sort.Ints(out)
	return out
}

// describeProcess is "pid (cmdline)" for leak reports.
func describeProcess(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(data) == 0 {
		return strconv.Itoa(pid)
	}
	cmd := strings.TrimRight(strings.ReplaceAll(string(data), "\x00", " "), " ")
	return fmt.Sprintf("%d (%s)", pid, cmd)
}
