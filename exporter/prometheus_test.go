package exporter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	itestutil "github.com/gobcc/gobcc/internal/testutil"
)

// startChild builds and starts testdata/getppidchild, which calls
// getppid() n times when release is called. With stay it lives on until
// the test ends, so that its addresses can be resolved; without, release
// waits for it to exit.
func startChild(t *testing.T, n int, stay bool) (pid int, release func()) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "getppidchild")
	build := exec.Command("go", "build", "-o", bin, "./testdata/getppidchild")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the child: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, strconv.Itoa(n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	return cmd.Process.Pid, func() {
		stdin.Write([]byte("\n"))
		if !stay {
			stdin.Close()
			if err := cmd.Wait(); err != nil {
				t.Errorf("child: %v", err)
			}
		}
	}
}

// freeAddr returns a loopback address with a free port.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startPrometheus runs Debian's prometheus scraping target every second
// and returns its address; it is killed at the end of the test.
func startPrometheus(t *testing.T, target string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		itestutil.RequireKernel(t, "no prometheus binary (scripts/setup.sh installs it): %v", err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: gobcc
    static_configs:
      - targets: ["%s"]
`, target)), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logFile.Name()); err == nil {
				t.Logf("prometheus log:\n%s", b)
			}
		}
	})
	waitFor(t, 60*time.Second, "prometheus ready", func() (bool, error) {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	return addr
}

// waitFor polls cond until it holds; the deadline only bounds a hang.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s", what, limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// query asks Prometheus for an instant vector and returns each sample's
// value by its labels' text.
func query(addr, q string) (map[string]float64, error) {
	resp, err := http.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Metric map[string]string
				Value  [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, errors.New(r.Error)
	}
	out := map[string]float64{}
	for _, s := range r.Data.Result {
		v, err := strconv.ParseFloat(s.Value[1].(string), 64)
		if err != nil {
			return nil, err
		}
		out[fmt.Sprint(s.Metric)] = v
	}
	return out, nil
}

// TestPrometheusScrapesExporter runs the seed program and a getppid
// program under the exporter, has a real Prometheus server scrape it, and
// checks through Prometheus' API that the seed's counter increases and
// that the histogram's _count and the event counter equal the getppid()
// calls a child made.
func TestPrometheusScrapesExporter(t *testing.T) {
	itestutil.RequireRoot(t)
	const calls = 1234
	pid, release := startChild(t, calls, false)

	e := New(Options{Compile: CompileOptions{CFlags: []string{
		"-DTARGET=" + strconv.Itoa(pid), "-DGETPPID_NR=" + strconv.Itoa(syscall.SYS_GETPPID)}}})
	defer e.Close()
	for _, p := range []struct{ name, src, cfg string }{
		{"kmalloc_callers", "../examples/exporter/kmalloc_callers.c", "../examples/exporter/kmalloc_callers.yaml"},
		{"getppid", "testdata/getppid.c", "testdata/getppid.yaml"},
	} {
		cfg, err := LoadConfig(p.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.AddProgram(p.name, p.src, cfg); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- e.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	target := ln.Addr().String()
	defer func() {
		if !t.Failed() {
			return
		}
		resp, err := http.Get("http://" + target + "/metrics")
		if err != nil {
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		for line := range strings.SplitSeq(string(body), "\n") {
			if strings.HasPrefix(line, "getppid") || strings.HasPrefix(line, "gobcc_exporter") {
				t.Log(line)
			}
		}
	}()
	prom := startPrometheus(t, target)

	release() // the child makes its calls and exits

	// The histogram's count and the event counter equal the calls.
	waitFor(t, 60*time.Second, "getppid_latency_seconds_count in Prometheus", func() (bool, error) {
		r, err := query(prom, "getppid_latency_seconds_count")
		if err != nil {
			return false, err
		}
		for _, v := range r {
			if v > calls {
				return false, fmt.Errorf("count %v above the %d calls made", v, calls)
			}
			return v == calls, nil
		}
		return false, nil
	})
	r, err := query(prom, `getppid_latency_seconds_bucket{le="+Inf"}`)
	if err != nil || len(r) != 1 {
		t.Fatalf("+Inf bucket: %v %v", r, err)
	}
	for _, v := range r {
		if v != calls {
			t.Errorf("+Inf bucket %v, want %d", v, calls)
		}
	}
	waitFor(t, 30*time.Second, "getppid_events_total in Prometheus", func() (bool, error) {
		r, err := query(prom, `getppid_events_total{syscall="getppid"}`)
		if err != nil {
			return false, err
		}
		for labels, v := range r {
			if !strings.Contains(labels, "comm:getppidchild") {
				return false, fmt.Errorf("event labels %s", labels)
			}
			return v == calls, nil
		}
		return false, nil
	})

	// The seed program's counter increases between scrapes.
	var first float64
	waitFor(t, 30*time.Second, "sum(kmalloc_calls_total)", func() (bool, error) {
		r, err := query(prom, "sum(kmalloc_calls_total)")
		if err != nil {
			return false, err
		}
		for _, v := range r {
			first = v
			return v > 0, nil
		}
		return false, nil
	})
	waitFor(t, 30*time.Second, "sum(kmalloc_calls_total) increasing", func() (bool, error) {
		r, err := query(prom, "sum(kmalloc_calls_total)")
		if err != nil {
			return false, err
		}
		for _, v := range r {
			return v > first, nil
		}
		return false, nil
	})
	// Prometheus saw the exporter up, with its own metrics.
	r, err = query(prom, `up{job="gobcc"}`)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range r {
		if v != 1 {
			t.Errorf("up = %v", v)
		}
	}
	r, err = query(prom, "gobcc_exporter_programs_enabled")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range r {
		if v != 2 {
			t.Errorf("gobcc_exporter_programs_enabled = %v, want 2", v)
		}
	}

	// promtool accepts the exposition.
	resp, err := http.Get("http://" + target + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		itestutil.RequireKernel(t, "no promtool: %v", err)
	}
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = strings.NewReader(string(body))
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}

	// /healthz is up while programs are exported.
	resp, err = http.Get("http://" + target + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %s", resp.Status)
	}
}
