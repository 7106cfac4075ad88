package cache_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/cache"
	"github.com/gobcc/gobcc/internal/testutil"
)

func TestEmptyCache(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GOBCC_CACHE_DIR", dir)
	if got := cache.Dir(); got != dir+"/objects" {
		t.Errorf("Dir = %q, want %q", got, dir+"/objects")
	}
	entries, err := cache.Entries()
	if err != nil || len(entries) != 0 {
		t.Fatalf("Entries of an empty cache = %v, %v", entries, err)
	}
	if n, err := cache.Clear(); err != nil || n != 0 {
		t.Fatalf("Clear of an empty cache = %d, %v", n, err)
	}
	if removed, err := cache.Prune(0); err != nil || len(removed) != 0 {
		t.Fatalf("Prune of an empty cache = %v, %v", removed, err)
	}
}

func TestUntrustedCacheDirectory(t *testing.T) {
	testutil.RequireRoot(t) // the check is on the directory's owner and mode
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/objects", 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir+"/objects", 0o777); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOBCC_CACHE_DIR", dir)
	if _, err := cache.Entries(); err == nil || !strings.Contains(err.Error(), "untrusted") {
		t.Fatalf("Entries of a world-writable cache = %v, want an error about its mode", err)
	}
}

func ExampleDir() {
	os.Setenv("GOBCC_CACHE_DIR", "/var/cache/gobcc")
	fmt.Println(cache.Dir())
	// Output: /var/cache/gobcc/objects
}
