package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestExportServesAndStopsOnSIGTERM runs "gobcc export" on the seed
// program, scrapes /metrics and /healthz, sends one SIGTERM and expects a
// clean exit (status 0) with the programs detached.
func TestExportServesAndStopsOnSIGTERM(t *testing.T) {
	requireRoot(t)
	cmd := exec.Command(gobccBinary, "export", "--listen", "127.0.0.1:0",
		"examples/exporter/kmalloc_callers.c", "--config", "examples/exporter/kmalloc_callers.yaml")
	cmd.Dir = repoRoot
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// "gobcc: exporting kmalloc_callers on http://127.0.0.1:PORT/metrics"
	lines := bufio.NewScanner(stderr)
	addr := regexp.MustCompile(`on (http://\S+)/metrics`)
	var base string
	var log strings.Builder
	for lines.Scan() {
		log.WriteString(lines.Text() + "\n")
		if m := addr.FindStringSubmatch(lines.Text()); m != nil {
			base = m[1]
			break
		}
	}
	if base == "" {
		t.Fatalf("no address announced:\n%s", log.String())
	}
	go io.Copy(io.Discard, stderr)
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	var body string
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(body, "kmalloc_calls_total{function=") && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		_, body = get("/metrics")
	}
	for _, want := range []string{"kmalloc_calls_total{function=", "gobcc_exporter_programs_enabled 1"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v (want exit 0)", err)
	}
}

// TestExportBadConfigIsUsageError: a configuration mistake exits 2 and
// names file, line and field, before the program is compiled.
func TestExportBadConfigIsUsageError(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(cfg, []byte("metrics:\n  counters:\n    - name: x\n      table: callers\n      lables: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := gobcc(t, "", "export", "testdata/kmalloc_callers.c", "--config", cfg)
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, cfg+":5:") || !strings.Contains(r.stderr, `"lables"`) {
		t.Errorf("stderr does not name file, line and field:\n%s", r.stderr)
	}
	r = gobcc(t, "", "export", "testdata/kmalloc_callers.c")
	wantCode(t, r, exitUsage)
}
