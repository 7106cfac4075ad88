package exporter

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/gobcc/gobcc/bcc"
	itestutil "github.com/gobcc/gobcc/internal/testutil"
)

const collectProg = `
BPF_HASH(calls, u64, u64);
BPF_HISTOGRAM(dist, int, 8);
struct hkey { u32 op; u64 slot; };
BPF_HASH(lat, struct hkey, u64);
struct skey { u32 nr; s32 err; char comm[16]; u32 dev; u32 ip; u64 flags; };
BPF_HASH(sys, struct skey, u64);
BPF_PERCPU_ARRAY(pc, u64, 2);
BPF_HASH(many, u32, u64, 100);
`

const collectConfig = `
metrics:
  counters:
    - name: calls_total
      help: calls by function
      table: calls
      labels:
        - name: function
          decoders: [ksym]
    - name: sys_total
      help: syscalls
      table: sys
      labels:
        - name: syscall
          field: nr
          decoders: [syscall]
        - name: errno
          field: err
          decoders: [errno]
        - name: comm
          field: comm
          decoders:
            - name: regexp
              regexps: ['^(gobcc)-.*$']
        - name: dev
          field: dev
          decoders: [majorminor]
        - name: ip
          field: ip
          decoders: [inet_ip]
        - name: flags
          field: flags
          decoders: [hex]
    - name: percpu_total
      help: summed over CPUs
      table: pc
      labels:
        - name: index
    - name: percpu_by_cpu_total
      help: by CPU
      table: pc
      per_cpu: label
      labels:
        - name: index
          decoders:
            - name: static_map
              static_map: {"0": zero, "1": one}
    - name: many_total
      help: limited
      table: many
      max_series: 3
      labels:
        - name: key
  histograms:
    - name: dist_seconds
      help: log2 histogram
      table: dist
      bucket_multiplier: 0.001
    - name: lat_ops
      help: linear histogram by op
      table: lat
      bucket_type: linear
      bucket_min: 1
      bucket_max: 3
      labels:
        - name: op
          field: op
          decoders:
            - name: static_map
              static_map: {"1": read}
              allow_unknown: true
`

// newTestExporter exports prog with cfg; tables are filled by the test.
func newTestExporter(t *testing.T, prog, config string) (*Exporter, *bcc.BPF) {
	t.Helper()
	itestutil.RequireRoot(t)
	src := filepath.Join(t.TempDir(), "p.c")
	if err := os.WriteFile(src, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig("p.yaml", []byte(config))
	if err != nil {
		t.Fatal(err)
	}
	e := New(Options{NoProcessMetrics: true})
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := e.AddProgram("p", src, cfg); err != nil {
		t.Fatal(err)
	}
	return e, e.programs[0].b
}

func update(t *testing.T, b *bcc.BPF, table string, key, val any) {
	t.Helper()
	tb, err := b.Table(table)
	if err != nil {
		t.Fatal(err)
	}
	if err := tb.Update(key, val); err != nil {
		t.Fatalf("update %s[%v]: %v", table, key, err)
	}
}

func TestCollectRealTables(t *testing.T) {
	e, b := newTestExporter(t, collectProg, collectConfig)
	vfsRead, err := b.KsymName("vfs_read")
	if err != nil {
		t.Fatal(err)
	}
	// Two call sites in one function add up to one series.
	update(t, b, "calls", vfsRead, 3)
	update(t, b, "calls", vfsRead+4, 4)
	// slots: 0 -> 1, 1 -> 2, 3 -> 4 (values 4..7), 7 -> 1; the sum is
	// estimated from each slot's lower bound: 0 + 2×1 + 4×4 + 1×64 = 82.
	for slot, n := range map[int]int{0: 1, 1: 2, 3: 4, 7: 1} {
		update(t, b, "dist", slot, n)
	}
	// op 1 (read): slot 0 (below bucket_min: first bucket), 2, 9 (+Inf).
	update(t, b, "lat", map[string]any{"op": 1, "slot": 0}, 1)
	update(t, b, "lat", map[string]any{"op": 1, "slot": 2}, 2)
	update(t, b, "lat", map[string]any{"op": 1, "slot": 9}, 3)
	update(t, b, "lat", map[string]any{"op": 7, "slot": 3}, 5)
	update(t, b, "sys", map[string]any{"nr": 0, "err": -2, "comm": "gobcc-x", "dev": 8<<20 | 1, "ip": []byte{10, 0, 0, 1}, "flags": 255}, 6)
	update(t, b, "sys", map[string]any{"nr": 1, "err": 0, "comm": "other", "dev": 0, "ip": []byte{0, 0, 0, 0}, "flags": 0}, 9) // dropped by the regexp
	update(t, b, "pc", 1, 5)                                                                                                   // 5 on every CPU
	for i := range 5 {
		update(t, b, "many", i, 1)
	}
	pc, err := b.Table("pc")
	if err != nil {
		t.Fatal(err)
	}
	ncpu := pc.PossibleCPUs()

	want := `
# HELP calls_total calls by function
# TYPE calls_total counter
calls_total{function="vfs_read"} 7
# HELP dist_seconds log2 histogram
# TYPE dist_seconds histogram
dist_seconds_bucket{le="0"} 1
dist_seconds_bucket{le="0.001"} 3
dist_seconds_bucket{le="0.003"} 3
dist_seconds_bucket{le="0.007"} 7
dist_seconds_bucket{le="0.015"} 7
dist_seconds_bucket{le="0.031"} 7
dist_seconds_bucket{le="0.063"} 7
dist_seconds_bucket{le="0.127"} 8
dist_seconds_bucket{le="+Inf"} 8
dist_seconds_sum 0.082
dist_seconds_count 8
# HELP lat_ops linear histogram by op
# TYPE lat_ops histogram
lat_ops_bucket{op="read",le="1"} 1
lat_ops_bucket{op="read",le="2"} 3
lat_ops_bucket{op="read",le="3"} 3
lat_ops_bucket{op="read",le="+Inf"} 6
lat_ops_sum 31
lat_ops_count{op="read"} 6
lat_ops_bucket{op="7",le="1"} 0
lat_ops_bucket{op="7",le="2"} 0
lat_ops_bucket{op="7",le="3"} 5
lat_ops_bucket{op="7",le="+Inf"} 5
lat_ops_sum{op="7"} 15
lat_ops_count{op="7"} 5
# HELP sys_total syscalls
# TYPE sys_total counter
sys_total{comm="gobcc",dev="8:1",errno="ENOENT",flags="0xff",ip="10.0.0.1",syscall="read"} 6
`
	// lat_ops_sum of op "read" has its label too; fix the line above.
	want = strings.Replace(want, "lat_ops_sum 31\n", `lat_ops_sum{op="read"} 31`+"\n", 1)
	if err := testutil.CollectAndCompare(e.programs[0], strings.NewReader(want), "calls_total", "dist_seconds", "lat_ops", "sys_total"); err != nil {
		t.Error(err)
	}

	// Per-CPU: summed, and by CPU with a static_map label.
	var sb strings.Builder
	sb.WriteString("# HELP percpu_total summed over CPUs\n# TYPE percpu_total counter\n")
	sb.WriteString("percpu_total{index=\"0\"} 0\npercpu_total{index=\"1\"} " + strconv.Itoa(5*ncpu) + "\n")
	if err := testutil.CollectAndCompare(e.programs[0], strings.NewReader(sb.String()), "percpu_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(e.programs[0], "percpu_by_cpu_total"); n != 2*ncpu {
		t.Errorf("percpu_by_cpu_total has %d series, want %d", n, 2*ncpu)
	}

	// The series limit keeps 3 of 5 and counts 2 dropped per scrape.
	if n := testutil.CollectAndCount(e.programs[0], "many_total"); n != 3 {
		t.Errorf("many_total has %d series, want 3", n)
	}
	before := testutil.ToFloat64(e.self.dropped.WithLabelValues("many_total"))
	testutil.CollectAndCount(e.programs[0], "many_total")
	if d := testutil.ToFloat64(e.self.dropped.WithLabelValues("many_total")) - before; d != 2 {
		t.Errorf("a scrape dropped %v series of many_total, want 2", d)
	}

	// Between scrapes the table changes: remembered keys must not keep
	// stale series, new keys must appear.
	calls, err := b.Table("calls")
	if err != nil {
		t.Fatal(err)
	}
	if err := calls.Delete(vfsRead + 4); err != nil {
		t.Fatal(err)
	}
	vfsWrite, err := b.KsymName("vfs_write")
	if err != nil {
		t.Fatal(err)
	}
	update(t, b, "calls", vfsWrite+1, 2)
	want = "# HELP calls_total calls by function\n# TYPE calls_total counter\n" +
		"calls_total{function=\"vfs_read\"} 3\ncalls_total{function=\"vfs_write\"} 2\n"
	for range 2 {
		if err := testutil.CollectAndCompare(e.programs[0], strings.NewReader(want), "calls_total"); err != nil {
			t.Error(err)
		}
	}

	// Handler's Gather builds the same families as the registry does
	// from the Collector.
	if a, b := exposition(t, e.Registry()), exposition(t, e); a != b {
		t.Errorf("Gather differs from the registry:\n--- registry\n%s\n--- Gather\n%s", a, b)
	}

	// The exposition lints clean (names, help, units).
	problems, err := testutil.CollectAndLint(e.programs[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// exposition is the text format of g's program metrics (not the
// exporter's own, whose durations change between calls).
func exposition(t *testing.T, g prometheus.Gatherer) string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "gobcc_exporter_") {
			continue
		}
		if _, err := expfmt.MetricFamilyToText(&sb, mf); err != nil {
			t.Fatal(err)
		}
	}
	return sb.String()
}

// TestCloseDetachesAndStops: after Close no program is exported, /healthz
// says so, event readers have ended and AddProgram refuses.
func TestCloseDetachesAndStops(t *testing.T) {
	itestutil.RequireRoot(t)
	cfg, err := LoadConfig("testdata/getppid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e := New(Options{NoProcessMetrics: true, Compile: CompileOptions{CFlags: []string{"-DTARGET=1", "-DGETPPID_NR=110"}}})
	if err := e.AddProgram("getppid", "testdata/getppid.c", cfg); err != nil {
		t.Fatal(err)
	}
	p := e.programs[0]
	if n := p.b.NumOpenTracepoints(); n != 2 {
		t.Errorf("%d tracepoints attached, want 2", n)
	}
	rec := httptest.NewRecorder()
	e.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 {
		t.Errorf("/healthz before Close: %d", rec.Code)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if n := p.b.NumOpenTracepoints(); n != 0 {
		t.Errorf("%d tracepoints still attached after Close", n)
	}
	if _, err := p.b.Table("events"); err == nil {
		t.Error("program still open after Close")
	}
	rec = httptest.NewRecorder()
	e.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 503 {
		t.Errorf("/healthz after Close: %d, want 503", rec.Code)
	}
	if err := e.AddProgram("again", "testdata/getppid.c", cfg); !errors.Is(err, ErrClosed) {
		t.Errorf("AddProgram after Close: %v, want ErrClosed", err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestConcurrentScrapes gathers from several goroutines through both paths
// while the table changes (run with -race); every scrape sees whole
// series.
func TestConcurrentScrapes(t *testing.T) {
	e, b := newTestExporter(t, collectProg, collectConfig)
	vfsRead, err := b.KsymName("vfs_read")
	if err != nil {
		t.Fatal(err)
	}
	calls, err := b.Table("calls")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			if err := calls.Update(vfsRead+uint64(i%8), i); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	errs := make(chan error, 8)
	for g := range 4 {
		go func() {
			var gather prometheus.Gatherer = e
			if g%2 == 1 {
				gather = e.Registry()
			}
			for range 20 {
				if _, err := gather.Gather(); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	<-done
}

// TestStackSymbolAndCgroupDecoders: kstack, ustack and usym name the
// functions of a child's getppid() calls, cgroup its cgroup's path.
func TestStackSymbolAndCgroupDecoders(t *testing.T) {
	itestutil.RequireRoot(t)
	const calls = 10
	pid, release := startChild(t, calls, true)
	cfg, err := LoadConfig("testdata/stacks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e := New(Options{NoProcessMetrics: true, Compile: CompileOptions{CFlags: []string{
		"-DTARGET=" + strconv.Itoa(pid), "-DGETPPID_NR=" + strconv.Itoa(syscall.SYS_GETPPID)}}})
	defer e.Close()
	if err := e.AddProgram("stacks", "testdata/stacks.c", cfg); err != nil {
		t.Fatal(err)
	}
	release()
	cgroup, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	var wantCgroup string // the v2 hierarchy's line, "0::PATH"
	for line := range strings.SplitSeq(string(cgroup), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			wantCgroup = p
		}
	}
	var total float64
	for range 50 {
		mfs, err := e.Gather()
		if err != nil {
			t.Fatal(err)
		}
		total = 0
		for _, mf := range mfs {
			if mf.GetName() != "getppid_stacks_total" {
				continue
			}
			for _, m := range mf.Metric {
				total += m.GetCounter().GetValue()
				labels := map[string]string{}
				for _, l := range m.Label {
					labels[l.GetName()] = l.GetValue()
				}
				if total == calls {
					t.Logf("labels: %v", labels)
					if !strings.Contains(labels["kstack"], "do_syscall_64") {
						t.Errorf("kstack %q lacks do_syscall_64", labels["kstack"])
					}
					if !strings.Contains(labels["ustack"], "runtime.main") {
						t.Errorf("ustack %q lacks runtime.main", labels["ustack"])
					}
					if !strings.HasPrefix(labels["function"], "syscall.") && !strings.HasPrefix(labels["function"], "internal/runtime/syscall.") {
						t.Errorf("usym of the address getppid returns to: %q, want a syscall function", labels["function"])
					}
					if labels["cgroup"] != wantCgroup {
						t.Errorf("cgroup %q, want %q", labels["cgroup"], wantCgroup)
					}
				}
			}
		}
		if total == calls {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("saw %v calls, want %d", total, calls)
}

// TestPerfEventCounter counts BPF_PERF_OUTPUT events by their fields.
func TestPerfEventCounter(t *testing.T) {
	itestutil.RequireRoot(t)
	const calls = 500
	pid, release := startChild(t, calls, false)
	cfg, err := ParseConfig("perf.yaml", []byte(`
metrics:
  counters:
    - name: getppid_perf_events_total
      help: getppid() calls seen as perf events
      table: events
      labels:
        - name: syscall
          field: nr
          decoders: [syscall]
    - name: getppid_perf_pid_sum
      help: the pid field added up per event
      table: events
      value: pid
`))
	if err != nil {
		t.Fatal(err)
	}
	e := New(Options{NoProcessMetrics: true, Compile: CompileOptions{CFlags: []string{
		"-DTARGET=" + strconv.Itoa(pid), "-DGETPPID_NR=" + strconv.Itoa(syscall.SYS_GETPPID)}}})
	defer e.Close()
	if err := e.AddProgram("perf", "testdata/getppid_perf.c", cfg); err != nil {
		t.Fatal(err)
	}
	release()
	want := fmt.Sprintf(`
# HELP getppid_perf_events_total getppid() calls seen as perf events
# TYPE getppid_perf_events_total counter
getppid_perf_events_total{syscall="getppid"} %d
# HELP getppid_perf_pid_sum the pid field added up per event
# TYPE getppid_perf_pid_sum counter
getppid_perf_pid_sum %d
`, calls, calls*pid)
	var cmpErr error
	for range 100 {
		if cmpErr = testutil.GatherAndCompare(e, strings.NewReader(want), "getppid_perf_events_total", "getppid_perf_pid_sum"); cmpErr == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if cmpErr != nil {
		t.Error(cmpErr)
	}
	if lost := testutil.ToFloat64(e.self.lostEvents.WithLabelValues("perf", "events")); lost != 0 {
		t.Errorf("%v events lost", lost)
	}
}
