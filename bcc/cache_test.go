package bcc

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/debugflags"
	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/testutil"
)

// withCache points the compile cache at a fresh directory for one test.
func withCache(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("GOBCC_CACHE_DIR", dir)
	return filepath.Join(dir, "objects")
}

func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*.o"))
	return m
}

// xlated returns a loaded function's instructions as the kernel holds
// them, with map references zeroed.
func xlated(t *testing.T, b *BPF, name string) []byte {
	t.Helper()
	b.mu.Lock()
	f := b.funcs[name]
	b.mu.Unlock()
	if f == nil {
		t.Fatalf("%s not loaded", name)
	}
	insns, err := bpfsys.ProgXlatedInsns(f.FD)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+16 <= len(insns); i += 8 {
		if insns[i] == 0x18 {
			if src := insns[i+1] >> 4; src == 1 || src == 2 {
				binary.LittleEndian.PutUint32(insns[i+4:], 0)
			}
			i += 8
		}
	}
	return insns
}

const seedFn = "tracepoint__kmem__kmalloc"

func TestCacheColdThenWarm(t *testing.T) {
	testutil.RequireRoot(t)
	dir := withCache(t)
	src := readTestdata(t, "kmalloc_callers.c")
	cold, err := New(Options{Text: src})
	if err != nil {
		t.Fatal(err)
	}
	defer cold.Close()
	if files := cacheFiles(t, dir); len(files) != 1 {
		t.Fatalf("cache holds %v after a cold New, want one entry", files)
	}
	warm, err := New(Options{Text: src})
	if err != nil {
		t.Fatal(err)
	}
	defer warm.Close()
	if !warm.Cached() {
		t.Errorf("warm New went through libbcc (%s)", warm.LibbccVersion())
	}
	if !bytes.Equal(xlated(t, cold, seedFn), xlated(t, warm, seedFn)) {
		t.Error("the cached program's instructions differ from the compiled one's")
	}
	// The warm program runs: its table fills.
	callers, err := warm.Table("callers")
	if err != nil {
		t.Fatal(err)
	}
	waitForEntries(t, callers)
	if len(warm.Warnings()) != len(cold.Warnings()) {
		t.Errorf("warnings: cold %q, warm %q", cold.Warnings(), warm.Warnings())
	}
}

func waitForEntries(t *testing.T, tb *Table) {
	t.Helper()
	for range 50 {
		os.ReadFile("/proc/self/status") // some allocation in the kernel
		items, err := tb.Items()
		if err != nil {
			t.Fatal(err)
		}
		if len(items) > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("table stayed empty")
}

func TestCacheBypass(t *testing.T) {
	testutil.RequireRoot(t)
	dir := withCache(t)
	src := readTestdata(t, "kmalloc_callers.c")
	for _, opts := range []Options{
		{Text: src, NoCache: true},
		{Text: src, Debug: debugflags.Preprocessor, DebugWriter: new(bytes.Buffer)},
	} {
		b, err := New(opts)
		if err != nil {
			t.Fatal(err)
		}
		b.Close()
	}
	if files := cacheFiles(t, dir); len(files) != 0 {
		t.Errorf("NoCache and LLVM debug flags stored %v", files)
	}
	// Verifier-log flags bypass it too: their logs carry source lines
	// from libbcc's BTF, which a cached object lacks.
	var log bytes.Buffer
	for range 2 {
		b, err := New(Options{Text: src, Debug: debugflags.BPF, DebugWriter: &log})
		if err != nil {
			t.Fatal(err)
		}
		if b.Cached() {
			t.Error("debug BPF was served from the cache")
		}
		b.Close()
	}
	if files := cacheFiles(t, dir); len(files) != 0 {
		t.Errorf("debug flags stored %v", files)
	}
}

// TestCacheStoresOnlyVerifiedPrograms: a program the verifier rejects is
// not cached (a warm start would report the rejection without libbcc's
// source lines); one loaded later with LoadFunc is, at Close.
func TestCacheStoresOnlyVerifiedPrograms(t *testing.T) {
	testutil.RequireRoot(t)
	dir := withCache(t)
	bad := "BPF_HASH(h, u32, u64);\nint f(void *ctx) { u32 k = 0; u64 *v = h.lookup(&k); return *v; }\n"
	b, err := New(Options{Text: bad, NoAutoAttach: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.LoadFunc("f", Kprobe); !errors.Is(err, ErrVerifier) {
		t.Errorf("LoadFunc: %v, want ErrVerifier", err)
	}
	b.Close()
	if files := cacheFiles(t, dir); len(files) != 0 {
		t.Errorf("a rejected program was cached: %v", files)
	}
	good := "int f(void *ctx) { return 0; }\n"
	b, err = New(Options{Text: good, NoAutoAttach: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.LoadFunc("f", Kprobe); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if files := cacheFiles(t, dir); len(files) != 1 {
		t.Errorf("a verified program was not cached: %v", files)
	}
}

// TestCacheBadEntries: each kind of bad entry is reported, recompiled over,
// and never loaded.
func TestCacheBadEntries(t *testing.T) {
	testutil.RequireRoot(t)
	src := readTestdata(t, "kmalloc_callers.c")
	for name, spoil := range map[string]func(path string) error{
		"corrupt": func(p string) error {
			data, _ := os.ReadFile(p)
			data[len(data)/3] ^= 0xff
			return os.WriteFile(p, data, 0o600)
		},
		"truncated":     func(p string) error { return os.Truncate(p, 100) },
		"foreign owner": func(p string) error { return os.Chown(p, 65534, 65534) },
		"group writable": func(p string) error {
			return os.Chmod(p, 0o660)
		},
		"wrong version": func(p string) error {
			data, _ := os.ReadFile(p)
			return os.WriteFile(p, bytes.Replace(data, []byte(`{"format":1`), []byte(`{"format":9`), 1), 0o600)
		},
		"empty": func(p string) error { return os.WriteFile(p, nil, 0o600) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := withCache(t)
			b, err := New(Options{Text: src})
			if err != nil {
				t.Fatal(err)
			}
			b.Close()
			files := cacheFiles(t, dir)
			if len(files) != 1 {
				t.Fatalf("cache %v", files)
			}
			if err := spoil(files[0]); err != nil {
				t.Fatal(err)
			}
			b, err = New(Options{Text: src})
			if err != nil {
				t.Fatalf("New over a %s entry: %v", name, err)
			}
			defer b.Close()
			if b.Cached() {
				t.Error("the bad entry was loaded instead of recompiling")
			}
			if w := strings.Join(b.Warnings(), "\n"); !strings.Contains(w, "compile cache entry") {
				t.Errorf("no warning about the bad entry: %q", w)
			}
			// The recompile replaced it with a good one.
			b2, err := New(Options{Text: src})
			if err != nil {
				t.Fatal(err)
			}
			defer b2.Close()
			if !b2.Cached() {
				t.Error("the entry was not replaced by the recompile")
			}
		})
	}
}

func TestCacheUntrustedDirectory(t *testing.T) {
	testutil.RequireRoot(t)
	dir := withCache(t)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o777)
	b, err := New(Options{Text: readTestdata(t, "kmalloc_callers.c")})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if w := strings.Join(b.Warnings(), "\n"); !strings.Contains(w, "untrusted compile cache") {
		t.Errorf("warnings %q lack the untrusted cache", w)
	}
	if files := cacheFiles(t, dir); len(files) != 0 {
		t.Errorf("stored %v in a world-writable directory", files)
	}
}

// TestBuildObjectRunsWithoutLibbcc: Build's object loads through New with
// GOBCC_LIBBCC pointing nowhere (libbcc cannot be used), and counts.
func TestBuildObjectRunsWithoutLibbcc(t *testing.T) {
	testutil.RequireRoot(t)
	obj, err := Build(context.Background(), Options{SrcFile: "../testdata/kmalloc_callers.c"})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOBCC_LIBBCC", "/nonexistent/libbcc.so")
	b, err := New(Options{Object: obj})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	callers, err := b.Table("callers")
	if err != nil {
		t.Fatal(err)
	}
	if callers.KeySize() != 8 {
		t.Errorf("key size %d", callers.KeySize())
	}
	waitForEntries(t, callers)
	items, _ := callers.Items()
	if name := b.Ksym(items[0].Key.Uint64()); name == "" || strings.HasPrefix(name, "0x") {
		t.Errorf("call site %#x resolves to %q", items[0].Key.Uint64(), name)
	}
}

func TestObjectFileChecks(t *testing.T) {
	testutil.RequireRoot(t)
	obj, err := Build(context.Background(), Options{Text: readTestdata(t, "kmalloc_callers.c")})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, data []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		return p
	}
	good := write("good.o", obj, 0o644)
	b, err := New(Options{ObjectFile: good, NoAutoAttach: true})
	if err != nil {
		t.Fatalf("good object: %v", err)
	}
	b.Close()
	bad := map[string]string{
		"world writable": write("ww.o", obj, 0o666),
		"truncated":      write("trunc.o", obj[:len(obj)/2], 0o644),
		"corrupt":        write("corrupt.o", append(bytes.Clone(obj[:200]), append([]byte{obj[200] ^ 1}, obj[201:]...)...), 0o644),
		"not an object":  write("text.o", []byte("int main() {}"), 0o644),
		"missing":        filepath.Join(dir, "missing.o"),
	}
	foreign := write("foreign.o", obj, 0o644)
	os.Chown(foreign, 65534, 65534)
	bad["foreign owner"] = foreign
	link := filepath.Join(dir, "link.o")
	os.Symlink(good, link)
	bad["symlink"] = link
	for name, path := range bad {
		b, err := New(Options{ObjectFile: path})
		if err == nil {
			b.Close()
			t.Errorf("%s: loaded", name)
			continue
		}
		if !errors.Is(err, ErrBadObject) {
			t.Errorf("%s: err = %v, want ErrBadObject", name, err)
		}
	}
}

// TestObjectForCiliumAndObjdump: the seed program built by gobcc loads
// with cilium/ebpf, attaches with its link package and counts kmalloc call
// sites; llvm-objdump disassembles it.
func TestObjectForCiliumAndObjdump(t *testing.T) {
	testutil.RequireRoot(t)
	obj, err := Build(context.Background(), Options{Text: readTestdata(t, "kmalloc_callers.c")})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		t.Fatalf("cilium/ebpf NewCollection: %v", err)
	}
	defer coll.Close()
	prog := coll.Programs[seedFn]
	if prog == nil {
		t.Fatalf("programs %v", coll.Programs)
	}
	l, err := link.Tracepoint("kmem", "kmalloc", prog, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	callers := coll.Maps["callers"]
	var key, value uint64
	found := false
	for range 50 {
		os.ReadFile("/proc/self/status")
		if callers.Iterate().Next(&key, &value) {
			found = true
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !found || value == 0 {
		t.Fatal("cilium-loaded program counted nothing")
	}

	objdump, err := exec.LookPath("llvm-objdump")
	if err != nil {
		testutil.RequireKernel(t, "llvm-objdump not installed (setup.sh installs llvm)")
	}
	path := filepath.Join(t.TempDir(), "seed.o")
	os.WriteFile(path, obj, 0o600)
	out, err := exec.Command(objdump, "-d", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "<"+seedFn+">:") || !strings.Contains(string(out), "exit") {
		t.Errorf("llvm-objdump -d: %v\n%s", err, out)
	}

	// libbpf 1.x, through bpftool, loads it too (pinning needs bpffs).
	bpftool, err := exec.LookPath("bpftool")
	if err != nil {
		testutil.RequireKernel(t, "bpftool not installed (setup.sh installs it)")
	}
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/bpf", &st) != nil || st.Type != unix.BPF_FS_MAGIC {
		testutil.RequireKernel(t, "no bpffs at /sys/fs/bpf (setup.sh mounts it)")
	}
	pin, err := os.MkdirTemp("/sys/fs/bpf", "gobcc-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(pin)
	if out, err := exec.Command(bpftool, "prog", "loadall", path, pin).CombinedOutput(); err != nil {
		t.Fatalf("bpftool prog loadall: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(pin, seedFn)); err != nil {
		t.Errorf("bpftool pinned no %s: %v", seedFn, err)
	}
}

func TestSharedTablesAreNotStored(t *testing.T) {
	testutil.RequireRoot(t)
	dir := withCache(t)
	src := `BPF_TABLE_SHARED("hash", u32, u64, gobcc_shared_test, 4);` + "\nint f(void *ctx) { return 0; }\n"
	b, err := New(Options{Text: src, NoAutoAttach: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.LoadFunc("f", Kprobe); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if files := cacheFiles(t, dir); len(files) != 0 {
		t.Errorf("a program with a shared table was cached: %v", files)
	}
	if _, err := Build(context.Background(), Options{Text: src}); !errors.Is(err, ErrNotSupported) {
		t.Errorf("Build: %v, want ErrNotSupported", err)
	}
}

// TestCacheFollowsQuotedIncludes: a program's own #include "..." file is
// part of the key: changing it compiles again, with the new value.
func TestCacheFollowsQuotedIncludes(t *testing.T) {
	testutil.RequireRoot(t)
	withCache(t)
	dir := t.TempDir()
	prog := filepath.Join(dir, "prog.c")
	os.WriteFile(prog, []byte("#include \"size.h\"\nBPF_ARRAY(arr, u64, SIZE);\nint f(void *ctx) { return 0; }\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "size.h"), []byte("#define SIZE 4\n"), 0o644)
	entries := func() int {
		b, err := New(Options{SrcFile: prog, NoAutoAttach: true})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if _, err := b.LoadFunc("f", Kprobe); err != nil {
			t.Fatal(err)
		}
		tb, err := b.Table("arr")
		if err != nil {
			t.Fatal(err)
		}
		return tb.MaxEntries()
	}
	if n := entries(); n != 4 {
		t.Fatalf("max entries %d, want 4", n)
	}
	os.WriteFile(filepath.Join(dir, "size.h"), []byte("#define SIZE 8\n"), 0o644)
	if n := entries(); n != 8 {
		t.Errorf("after size.h changed: max entries %d, want 8 (a stale cache entry was used)", n)
	}
}
