package bcc

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/features"
	"github.com/gobcc/gobcc/internal/testutil"
)

// kprobeSupport tells whether this kernel can create kprobes (the tests
// that expect ErrNotSupported skip where it can).
func kprobeSupport() (pmu int, err error) { return features.Kprobe() }

// perfFDs counts this process's perf event descriptors.
func perfFDs(t *testing.T) int { return testutil.CountFDsOfKind("[perf_event]") }

// progIDs returns the kernel ids of the object's loaded functions, to
// check after Close that the kernel has freed them.
func progIDs(t *testing.T, b *BPF) []uint32 {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var ids []uint32
	for _, f := range b.funcs {
		info, err := bpfsys.ProgInfoByFD(f.FD)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, info.ID)
	}
	return ids
}

// requireProgsGone fails if any of the programs still exists. Attachments
// hold programs: a program that outlives Close is still attached somewhere.
// The kernel frees a program after an RCU grace period (and XDP detaches
// through the network stack), so each gets up to two seconds to go.
func requireProgsGone(t *testing.T, ids []uint32) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for _, id := range ids {
		for {
			fd, err := bpfsys.ProgGetFDByID(id)
			if err != nil {
				if !errors.Is(err, unix.ENOENT) && !errors.Is(err, bpfsys.ErrNoSuchObject) {
					t.Errorf("program %d: %v", id, err)
				}
				break
			}
			unix.Close(fd)
			if time.Now().After(deadline) {
				t.Errorf("program %d still loaded after Close", id)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// gcc compiles C source into dir/out with extra flags.
func gcc(t *testing.T, dir, out, src string, flags ...string) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Fatalf("gcc: %v (scripts/setup.sh installs it)", err)
	}
	srcPath := filepath.Join(dir, out+".c")
	if err := os.WriteFile(srcPath, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	outPath := filepath.Join(dir, out)
	args := append([]string{"-O1", "-g", "-o", outPath, srcPath}, flags...)
	if b, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %v: %v\n%s", args, err, b)
	}
	return outPath
}

// waitMapped waits until process pid maps a file whose path contains name.
func waitMapped(t *testing.T, pid int, name string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid)); err == nil && strings.Contains(string(maps), name) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("process %d never mapped %s", pid, name)
}

func tableUint(t *testing.T, b *BPF, table string, key any) uint64 {
	t.Helper()
	tb, err := b.Table(table)
	if err != nil {
		t.Fatal(err)
	}
	v, err := tb.Lookup(key)
	if err != nil {
		t.Fatalf("%s[%v]: %v", table, key, err)
	}
	return v.Uint64()
}

func symbolValue(t *testing.T, path, sym string) uint64 {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		if s.Name == sym {
			return s.Value
		}
	}
	t.Fatalf("no %s in %s", sym, path)
	return 0
}

var runtime_GOARCH = runtime.GOARCH

func fmtSscanf(s, format string, args ...any) (int, error) { return fmt.Sscanf(s, format, args...) }

// attachErr drops the handle of an Attach* call, for tables of errors.
func attachErr[T any](_ T, err error) error { return err }
