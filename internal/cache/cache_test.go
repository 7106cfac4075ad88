package cache

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobcc/gobcc/internal/testutil"
)

func open(t *testing.T) *Cache {
	t.Helper()
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPutGet(t *testing.T) {
	c := open(t)
	key := Key("text", "cflags")
	if _, err := c.Get(key); !errors.Is(err, ErrMiss) {
		t.Fatalf("Get of a new key: %v, want ErrMiss", err)
	}
	if err := c.Put(key, []byte("object")); err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(key)
	if err != nil || string(got) != "object" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	fi, err := os.Stat(filepath.Join(c.Dir(), key+".o"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("entry mode %v (%v), want 0600", fi.Mode(), err)
	}
	di, _ := os.Stat(c.Dir())
	if di.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", di.Mode().Perm())
	}
}

func TestKeyIsUnambiguous(t *testing.T) {
	if Key("ab", "c") == Key("a", "bc") || Key("x") == Key("x", "") {
		t.Error("different part lists hash alike")
	}
	if len(Key()) != 64 {
		t.Error("key is not a hex SHA-256")
	}
}

func TestBadKey(t *testing.T) {
	c := open(t)
	for _, k := range []string{"", "../../etc/passwd", strings.Repeat("g", 64), strings.Repeat("A", 64)} {
		if _, err := c.Get(k); err == nil || errors.Is(err, ErrMiss) {
			t.Errorf("Get(%q) = %v, want a bad key error", k, err)
		}
		if err := c.Put(k, nil); err == nil {
			t.Errorf("Put(%q) accepted", k)
		}
	}
}

func TestUntrustedEntries(t *testing.T) {
	testutil.RequireRoot(t) // chown to another user
	c := open(t)
	key := Key("prog")
	path := filepath.Join(c.Dir(), key+".o")
	put := func() {
		t.Helper()
		os.Remove(path)
		if err := c.Put(key, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("group readable", func(t *testing.T) {
		put()
		os.Chmod(path, 0o640)
		if _, err := c.Get(key); !errors.Is(err, ErrUntrusted) {
			t.Errorf("err = %v, want ErrUntrusted", err)
		}
	})
	t.Run("foreign owner", func(t *testing.T) {
		put()
		if err := os.Chown(path, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Get(key); !errors.Is(err, ErrUntrusted) || !strings.Contains(err.Error(), "65534") {
			t.Errorf("err = %v, want ErrUntrusted naming uid 65534", err)
		}
	})
	t.Run("symlink", func(t *testing.T) {
		os.Remove(path)
		target := filepath.Join(t.TempDir(), "elsewhere")
		os.WriteFile(target, []byte("x"), 0o600)
		if err := os.Symlink(target, path); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Get(key); !errors.Is(err, ErrUntrusted) {
			t.Errorf("err = %v, want ErrUntrusted", err)
		}
	})
	t.Run("replaced by Put", func(t *testing.T) {
		// A recompile's Put replaces an untrusted entry with a good one.
		if err := c.Put(key, []byte("fresh")); err != nil {
			t.Fatal(err)
		}
		if got, err := c.Get(key); err != nil || string(got) != "fresh" {
			t.Errorf("Get = %q, %v", got, err)
		}
	})
}

func TestUntrustedDirectory(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "objects")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(base); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("Open of a 0755 directory: %v, want ErrUntrusted", err)
	}
	os.Chmod(dir, 0o700)
	if _, err := Open(base); err != nil {
		t.Fatalf("after chmod 0700: %v", err)
	}
	if os.Geteuid() == 0 {
		os.Chown(dir, 65534, 65534)
		if _, err := Open(base); !errors.Is(err, ErrUntrusted) {
			t.Fatalf("Open of a foreign-owned directory: %v, want ErrUntrusted", err)
		}
	}
}

// TestConcurrentWriters: writers of the same key and readers at the same
// time; every read sees one writer's whole entry, never a mix or a part.
func TestConcurrentWriters(t *testing.T) {
	c := open(t)
	key := Key("same program")
	payload := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i)}, 1<<16) }
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 8 {
		wg.Go(func() {
			for range 10 {
				if err := c.Put(key, payload(i)); err != nil {
					errs <- err
				}
			}
		})
		wg.Go(func() {
			for range 20 {
				got, err := c.Get(key)
				if errors.Is(err, ErrMiss) {
					continue
				}
				if err != nil {
					errs <- err
					continue
				}
				if len(got) != 1<<16 || !bytes.Equal(got, bytes.Repeat(got[:1], len(got))) {
					errs <- errors.New("a reader saw a torn entry")
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	entries, _ := c.List()
	if len(entries) != 1 {
		t.Errorf("%d entries, want 1", len(entries))
	}
	leftovers, _ := filepath.Glob(filepath.Join(c.Dir(), ".tmp-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestPruneAndClear(t *testing.T) {
	c := open(t)
	c.SetMaxBytes(0)
	keys := []string{Key("a"), Key("b"), Key("c")}
	for i, k := range keys {
		if err := c.Put(k, make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(time.Duration(i-10) * time.Minute)
		os.Chtimes(filepath.Join(c.Dir(), k+".o"), old, old)
	}
	c.Get(keys[0]) // a is now the most recently used
	removed, err := c.Prune(2000)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0].Key != keys[1] {
		t.Errorf("pruned %+v, want only b (least recently used)", removed)
	}
	// Put prunes by itself past the limit, keeping the new entry.
	c.SetMaxBytes(1500)
	if err := c.Put(Key("d"), make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	entries, _ := c.List()
	if len(entries) != 1 || entries[0].Key != Key("d") {
		t.Errorf("after Put over the limit: %+v, want only d", entries)
	}
	n, err := c.Clear()
	if err != nil || n != 1 {
		t.Errorf("Clear = %d, %v", n, err)
	}
	if entries, _ := c.List(); len(entries) != 0 {
		t.Errorf("entries after Clear: %+v", entries)
	}
}

func TestIncludeStamps(t *testing.T) {
	dir := t.TempDir()
	hdr := filepath.Join(dir, "sub", "defs.h")
	os.MkdirAll(filepath.Dir(hdr), 0o755)
	os.WriteFile(hdr, []byte("#define X 1\n"), 0o644)
	forced := filepath.Join(t.TempDir(), "forced.h")
	os.WriteFile(forced, []byte("\n"), 0o644)
	for _, flags := range [][]string{{"-I" + dir}, {"-I", dir}, {"-isystem", dir}} {
		s, err := IncludeStamps(append(flags, "-DX=1"))
		if err != nil || !strings.Contains(s, hdr) {
			t.Errorf("%v: stamp %q, %v; want it to name %s", flags, s, err, hdr)
		}
	}
	before, _ := IncludeStamps([]string{"-I" + dir, "-include", forced})
	if !strings.Contains(before, forced) {
		t.Errorf("-include file not stamped: %q", before)
	}
	os.WriteFile(hdr, []byte("#define X 22\n"), 0o644)
	after, _ := IncludeStamps([]string{"-I" + dir, "-include", forced})
	if before == after {
		t.Error("stamp unchanged after a header changed")
	}
	if s, _ := IncludeStamps([]string{"-O2", "-DFOO"}); s != "" {
		t.Errorf("flags without includes stamp %q", s)
	}
	big := t.TempDir()
	for i := range MaxStampedFiles + 1 {
		os.WriteFile(filepath.Join(big, strconv.Itoa(i)), nil, 0o644)
	}
	if _, err := IncludeStamps([]string{"-I" + big}); !errors.Is(err, ErrTooManyIncludes) {
		t.Errorf("err = %v, want ErrTooManyIncludes", err)
	}
}

func TestQuotedIncludeStamps(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "a.h"), []byte("#include \"sub/b.h\"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "sub", "b.h"), []byte("#define B 1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "unrelated.c"), nil, 0o644)
	text := "#include \"a.h\"\n#include \"gone.h\"\n#include <linux/sched.h>\n"
	before, err := QuotedIncludeStamps(text, []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{filepath.Join(dir, "a.h"), filepath.Join(dir, "sub", "b.h"), "gone.h: missing"} {
		if !strings.Contains(before, want) {
			t.Errorf("stamp lacks %q:\n%s", want, before)
		}
	}
	if strings.Contains(before, "unrelated") || strings.Contains(before, "sched.h") {
		t.Errorf("stamp names files the program does not include:\n%s", before)
	}
	os.WriteFile(filepath.Join(dir, "sub", "b.h"), []byte("#define B 22\n"), 0o644)
	if after, _ := QuotedIncludeStamps(text, []string{dir}); after == before {
		t.Error("stamp unchanged after a nested include changed")
	}
}
