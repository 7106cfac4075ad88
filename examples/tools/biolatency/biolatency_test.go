package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/examples/tools/tooltest"
	"github.com/gobcc/gobcc/internal/testutil"
)

// workload reads 64 blocks of 4 KiB with O_DIRECT from the file named by
// its argument once released, each a request of its own to the disk. The
// file is written and synced before.
const workload = `
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    char buf[8];
    void *block;
    int fd = open(argv[1], O_RDWR | O_CREAT, 0600);
    if (fd < 0 || posix_memalign(&block, 4096, 4096)) return 2;
    memset(block, 'x', 4096);
    for (int i = 0; i < 64; i++)
        if (pwrite(fd, block, 4096, (off_t)i * 4096) != 4096) return 3;
    fsync(fd);
    close(fd);
    fd = open(argv[1], O_RDONLY | O_DIRECT);
    if (fd < 0) return 4;
    if (read(0, buf, sizeof buf) <= 0) return 1;
    for (int i = 0; i < 64; i++)
        if (pread(fd, block, 4096, (off_t)((i * 37) % 64) * 4096) != 4096) return 5;
    close(fd);
    return 0;
}
`

const writes = 64

func TestBiolatency(t *testing.T) {
	testutil.RequireRoot(t)
	tool := tooltest.BuildTool(t)
	dir := t.TempDir()
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	link, err := os.Readlink(fmt.Sprintf("/sys/dev/block/%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev)))
	if err != nil {
		t.Skipf("%s is not on a block device: %v", dir, err)
	}
	disk := filepath.Base(link)
	if _, err := os.Stat("/dev/" + disk); err != nil {
		t.Skipf("no /dev/%s", disk)
	}
	wl := tooltest.StartWorkload(t, tooltest.BuildC(t, "writer", workload), filepath.Join(dir, "data"))

	perDisk := tooltest.Start(t, tool, "-D", "-e")
	jsonOut := tooltest.Start(t, tool, "-j", "-d", disk)
	perDisk.WaitFor("Tracing block device I/O... Hit Ctrl-C to end.")
	jsonOut.WaitForStderr("Tracing block device I/O")
	if err := wl.Release(); err != nil {
		t.Fatalf("workload: %v", err)
	}
	perDisk.Interrupt()
	out := perDisk.Wait()
	t.Logf("gobcc -D -e:\n%s", out)

	// The machine's other I/O is counted too: at least the workload's.
	if !regexp.MustCompile(`(?m)^disk = ` + disk + `\n     usecs               : count     distribution$`).MatchString(out) {
		t.Errorf("no histogram for disk %s:\n%s", disk, out)
	}
	m := regexp.MustCompile(`(?m)^avg = (\d+) usecs, total: (\d+) usecs, count: (\d+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no extension summary:\n%s", out)
	}
	avg, _ := strconv.ParseInt(m[1], 10, 64)
	total, _ := strconv.ParseInt(m[2], 10, 64)
	count, _ := strconv.ParseInt(m[3], 10, 64)
	if count < writes || avg != total/count {
		t.Errorf("extension: avg %d, total %d, count %d; want count >= %d and avg = total/count", avg, total, count, writes)
	}

	jsonOut.Interrupt()
	outJSON := jsonOut.Wait()
	t.Logf("gobcc -j -d %s:\n%s", disk, outJSON)
	var sum int64
	for _, line := range strings.Split(outJSON, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var h struct {
			ValType string `json:"val_type"`
			Data    []struct {
				Count json.Number `json:"count"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(line), &h); err != nil {
			t.Fatalf("bad JSON %q: %v", line, err)
		}
		if h.ValType != "usecs" {
			t.Errorf("val_type %q", h.ValType)
		}
		for _, d := range h.Data {
			n, _ := d.Count.Int64()
			sum += n
		}
	}
	// Requests that complete within a microsecond fall in slot 0, which
	// BCC's histograms do not print; the workload's writes take longer.
	if sum < writes {
		t.Errorf("-j -d %s: %d requests, want at least %d", disk, sum, writes)
	}
	// BCC's biolatency attaches kprobes, which this kernel lacks: there is
	// no original to compare with here.
}
