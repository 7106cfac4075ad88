package tracefs

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

// requireTracefs returns the tracefs directory, or skips (fails under
// GOBCC_REQUIRE_KERNEL=1) when it is not mounted or not readable.
func requireTracefs(tb testing.TB) string {
	tb.Helper()
	testutil.RequireRoot(tb)
	dir, err := Dir()
	if err != nil {
		testutil.RequireKernel(tb, "tracefs: %v", err)
	}
	return dir
}

// newInstance creates a tracefs instance, a private trace buffer with its
// own trace_pipe, trace_marker and buffer_size_kb, so tests neither see
// other users' lines nor change the global buffer.
func newInstance(tb testing.TB) string {
	tb.Helper()
	dir := requireTracefs(tb)
	instance := filepath.Join(dir, "instances", "gobcc_tracefs_test_"+strconv.Itoa(os.Getpid())+"_"+
		strings.NewReplacer("/", "_", " ", "_").Replace(tb.Name()))
	if err := os.Mkdir(instance, 0o700); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			testutil.RequireKernel(tb, "kernel without tracefs instances: %v", err)
		}
		tb.Fatalf("create tracefs instance: %v", err)
	}
	tb.Cleanup(func() {
		if err := os.Remove(instance); err != nil {
			tb.Errorf("remove tracefs instance: %v", err)
		}
	})
	return instance
}

func TestDir(t *testing.T) {
	dir := requireTracefs(t)
	if _, err := os.Stat(filepath.Join(dir, "trace_pipe")); err != nil {
		t.Errorf("Dir() = %s, which has no trace_pipe: %v", dir, err)
	}
}

func TestDirNotMounted(t *testing.T) {
	empty := t.TempDir()
	_, err := findTracefs([]string{empty, filepath.Join(empty, "missing")})
	if !errors.Is(err, ErrNoTracefs) {
		t.Fatalf("findTracefs(plain directories) error = %v, want ErrNoTracefs", err)
	}
	if !strings.Contains(err.Error(), "mount -t tracefs nodev /sys/kernel/tracing") {
		t.Errorf("error %q lacks the mount hint", err)
	}
}

func TestTracepointsRegexp(t *testing.T) {
	requireTracefs(t)
	got, err := Tracepoints(regexp.MustCompile(`syscalls:sys_enter_getpid$`))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"syscalls:sys_enter_getpid"}) {
		t.Errorf("Tracepoints(syscalls:sys_enter_getpid$) = %v", got)
	}

	kmalloc, err := Tracepoints(regexp.MustCompile(`kmem:kmalloc`))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(kmalloc, "kmem:kmalloc") {
		t.Errorf("Tracepoints(kmem:kmalloc) = %v, lacks kmem:kmalloc", kmalloc)
	}
	for _, tracepoint := range kmalloc {
		if !strings.HasPrefix(tracepoint, "kmem:kmalloc") {
			t.Errorf("Tracepoints(kmem:kmalloc) returned %s", tracepoint)
		}
	}

	// Like Python's re.match, the pattern is anchored at the start only.
	unanchored, err := Tracepoints(regexp.MustCompile(`sys_enter_getpid`))
	if err != nil {
		t.Fatal(err)
	}
	if len(unanchored) != 0 {
		t.Errorf("Tracepoints(sys_enter_getpid) = %v, want none (match is anchored at the start)", unanchored)
	}

	all, err := Tracepoints(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSorted(all) || !slices.Contains(all, "sched:sched_switch") {
		t.Errorf("Tracepoints(nil): %d entries, sorted %v, has sched:sched_switch %v",
			len(all), slices.IsSorted(all), slices.Contains(all, "sched:sched_switch"))
	}
}

func TestTracepointID(t *testing.T) {
	dir := requireTracefs(t)
	id, err := TracepointID("syscalls", "sys_enter_getpid")
	if err != nil {
		t.Fatal(err)
	}
	content, err := os.ReadFile(filepath.Join(dir, "events/syscalls/sys_enter_getpid/id"))
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(content)); strconv.FormatUint(id, 10) != want {
		t.Errorf("TracepointID(syscalls, sys_enter_getpid) = %d, id file says %s", id, want)
	}
	if !TracepointExists("kmem", "kmalloc") || !TracepointExists("syscalls", "sys_enter_getpid") {
		t.Error("TracepointExists is false for kmem:kmalloc or syscalls:sys_enter_getpid")
	}
	for _, missing := range [][2]string{{"kmem", "kmallocc"}, {"nosuchcategory", "x"}, {"..", "events"}, {"kmem", ""}, {"kmem/..", "kmem"}} {
		if TracepointExists(missing[0], missing[1]) {
			t.Errorf("TracepointExists(%q, %q) = true", missing[0], missing[1])
		}
		if _, err := TracepointID(missing[0], missing[1]); !errors.Is(err, ErrTracepointNotFound) {
			t.Errorf("TracepointID(%q, %q) error = %v, want ErrTracepointNotFound", missing[0], missing[1], err)
		}
	}
}

func TestTracepointNotFoundSuggests(t *testing.T) {
	requireTracefs(t)
	_, err := TracepointID("kmem", "kmallocc")
	if !errors.Is(err, ErrTracepointNotFound) {
		t.Fatalf("TracepointID(kmem, kmallocc) error = %v, want ErrTracepointNotFound", err)
	}
	message := err.Error()
	if !strings.Contains(message, "kmem:kmallocc") {
		t.Errorf("error %q does not name the tracepoint", message)
	}
	_, similar, ok := strings.Cut(message, "similar: ")
	if !ok {
		t.Fatalf("error %q has no suggestions", message)
	}
	suggestions := strings.Split(similar, ", ")
	if suggestions[0] != "kmem:kmalloc" || len(suggestions) > maxSuggestions {
		t.Errorf("suggestions %v, want kmem:kmalloc first and at most %d", suggestions, maxSuggestions)
	}

	// A misspelt category still finds the tracepoint.
	_, err = TracepointID("sycalls", "sys_enter_getpid")
	if !errors.Is(err, ErrTracepointNotFound) || !strings.Contains(err.Error(), "similar: syscalls:sys_enter_getpid") {
		t.Errorf("TracepointID(sycalls, sys_enter_getpid) error = %v, want syscalls:sys_enter_getpid suggested first", err)
	}
}

func TestSimilarTracepoints(t *testing.T) {
	all := []string{
		"kmem:kfree", "kmem:kmalloc", "kmem:kmalloc_node", "kmem:mm_page_alloc",
		"kmemx:kmallocc", "sched:sched_switch", "sched:sched_wakeup", "syscalls:sys_enter_getpid",
	}
	cases := []struct {
		category, name string
		want           []string
	}{
		// Same category before the exact name in another category.
		{"kmem", "kmallocc", []string{"kmem:kmalloc", "kmemx:kmallocc"}},
		{"sched", "switch", []string{"sched:sched_switch"}},
		{"sched", "sched_wakeupp", []string{"sched:sched_wakeup"}},
		{"nothing", "alike", nil},
	}
	for _, tc := range cases {
		got := similarTracepoints(all, tc.category, tc.name, maxSuggestions)
		if !slices.Equal(got, tc.want) {
			t.Errorf("similarTracepoints(%s:%s) = %v, want %v", tc.category, tc.name, got, tc.want)
		}
	}
	if got := similarTracepoints(all, "kmem", "kmalloc", 2); !slices.Equal(got, []string{"kmem:kmalloc", "kmem:kmalloc_node"}) {
		t.Errorf("similarTracepoints with limit 2 returned %v", got)
	}
}

func TestEditDistance(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "abc", 3}, {"kmalloc", "kmallocc", 1},
		{"kitten", "sitting", 3}, {"sched_switch", "sched_switch", 0},
	}
	for _, tc := range cases {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestBufferSizeKB(t *testing.T) {
	requireTracefs(t)
	perCPU, expanded, err := BufferSizeKB()
	if err != nil {
		t.Fatal(err)
	}
	if perCPU <= 0 || expanded < perCPU {
		t.Errorf("BufferSizeKB() = %d, %d; want positive sizes, expanded >= current", perCPU, expanded)
	}
}

func TestSetBufferSizeKB(t *testing.T) {
	// An instance, so the global buffer other users rely on stays as it is.
	instance := newInstance(t)
	if err := setBufferSizeKBAt(instance, 64); err != nil {
		t.Fatal(err)
	}
	perCPU, expanded, err := bufferSizeKBAt(instance)
	// The kernel rounds up to whole sub-buffer pages.
	if err != nil || perCPU < 64 || perCPU > 128 || expanded != perCPU {
		t.Errorf("after setting 64 KiB, buffer size = %d, %d, %v", perCPU, expanded, err)
	}
	if err := setBufferSizeKBAt(instance, 0); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("setBufferSizeKBAt(0) error = %v, want os.ErrInvalid", err)
	}
}
