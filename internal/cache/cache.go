// Package cache keeps compiled BPF objects on disk, keyed by a hash of
// everything that went into the compile, so that a program compiled once is
// loaded again without libbcc, LLVM or kernel headers.
//
// The cache loads code into the kernel, so it trusts only what its own user
// could have written: the directory must be owned by the effective user
// (root, in practice) with no group or other permission bits, and so must
// every entry (a regular file, not a link). An entry failing those checks is
// reported with ErrUntrusted and not read; the caller recompiles and the
// next Put replaces it. Entries are written to a temporary file in the same
// directory and renamed into place, so readers never see half an entry and
// concurrent writers of the same key leave one whole entry behind.
// Integrity of an entry's bytes is checked by its format (see
// internal/bpfobj: a SHA-256 over the whole object), not here.
package cache

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// EnvDir names the environment variable that overrides DefaultBase.
const EnvDir = "GOBCC_CACHE_DIR"

// DefaultBase is where gobcc keeps its caches when EnvDir is unset.
const DefaultBase = "/var/cache/gobcc"

// DefaultMaxBytes is the size Put prunes the cache down to.
const DefaultMaxBytes = 256 << 20

// entrySuffix is the file name extension of entries: they are ELF objects.
const entrySuffix = ".o"

var (
	// ErrMiss means there is no entry for the key.
	ErrMiss = errors.New("not in the compile cache")
	// ErrUntrusted means the cache directory or an entry has the wrong
	// owner, mode or file type: it is not read.
	ErrUntrusted = errors.New("untrusted compile cache")
)

// Base returns the cache base directory: $GOBCC_CACHE_DIR or DefaultBase.
func Base() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	return DefaultBase
}

// Cache is a directory of compiled objects.
type Cache struct {
	dir      string
	maxBytes int64
}

// Open opens (creating it with mode 0700 where missing) the object cache
// under base (Base() when empty). It fails with ErrUntrusted when the
// directory exists with another owner or with group/other permissions.
func Open(base string) (*Cache, error) {
	if base == "" {
		base = Base()
	}
	dir := filepath.Join(base, "objects")
	if err := SecureDir(dir); err != nil {
		return nil, err
	}
	return &Cache{dir: dir, maxBytes: DefaultMaxBytes}, nil
}

// Dir is the directory holding the entries.
func (c *Cache) Dir() string { return c.dir }

// SetMaxBytes changes the size Put prunes down to; 0 or less disables it.
func (c *Cache) SetMaxBytes(n int64) { c.maxBytes = n }

// SecureDir creates dir and its missing parents with mode 0700 and checks
// that dir is a directory (not a link) owned by the effective user with no
// group or other permission bits.
func SecureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("compile cache: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("compile cache: %w", err)
	}
	return trusted(dir, fi, true)
}

func trusted(path string, fi fs.FileInfo, wantDir bool) error {
	switch {
	case wantDir && !fi.IsDir():
		return fmt.Errorf("%w: %s is not a directory (%v)", ErrUntrusted, path, fi.Mode().Type())
	case !wantDir && !fi.Mode().IsRegular():
		return fmt.Errorf("%w: %s is not a regular file (%v)", ErrUntrusted, path, fi.Mode().Type())
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("%w: %s has mode %v; it must not be accessible to group or others (chmod go= %s)", ErrUntrusted, path, fi.Mode().Perm(), path)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%w: %s: no owner information", ErrUntrusted, path)
	}
	if euid := os.Geteuid(); int(st.Uid) != euid {
		return fmt.Errorf("%w: %s is owned by uid %d, not by uid %d that runs gobcc", ErrUntrusted, path, st.Uid, euid)
	}
	return nil
}

// Key hashes the parts of a compile's inputs into an entry name. Each part
// is length-prefixed, so no two different lists hash alike.
func Key(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		io.WriteString(h, p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (c *Cache) path(key string) (string, error) {
	if len(key) != 2*sha256.Size || strings.Trim(key, "0123456789abcdef") != "" {
		return "", fmt.Errorf("compile cache: bad key %q", key)
	}
	return filepath.Join(c.dir, key+entrySuffix), nil
}

// Get returns the entry for key and marks it used. It returns ErrMiss when
// there is none and ErrUntrusted when the entry's owner, mode or type is
// wrong; it does not check the contents.
func (c *Cache) Get(key string) ([]byte, error) {
	path, err := c.path(key)
	if err != nil {
		return nil, err
	}
	// O_NOFOLLOW: a link planted in the directory is refused, not followed.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrMiss
	}
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%w: %s is a symbolic link", ErrUntrusted, path)
	}
	if err != nil {
		return nil, fmt.Errorf("compile cache: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat() // of the open file: no race with a rename
	if err != nil {
		return nil, fmt.Errorf("compile cache: %w", err)
	}
	if err := trusted(path, fi, false); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, fi.Size()+1))
	if err != nil {
		return nil, fmt.Errorf("compile cache: read %s: %w", path, err)
	}
	now := time.Now()
	os.Chtimes(path, now, now) // last use, for Prune; failure only skews eviction
	return data, nil
}

// Put stores data as the entry for key, atomically, then prunes the cache
// to its size limit (the new entry is kept).
func (c *Cache) Put(key string, data []byte) error {
	path, err := c.path(key)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(c.dir, ".tmp-"+key[:16]+"-*")
	if err != nil {
		return fmt.Errorf("compile cache: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("compile cache: write: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("compile cache: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("compile cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("compile cache: %w", err)
	}
	done = true
	if c.maxBytes > 0 {
		if _, err := c.prune(c.maxBytes, key); err != nil {
			return err
		}
	}
	return nil
}

// Entry describes one cached object.
type Entry struct {
	Key      string
	Size     int64
	LastUsed time.Time
}

// List returns the entries, most recently used first.
func (c *Cache) List() ([]Entry, error) {
	des, err := os.ReadDir(c.dir)
	if err != nil {
		return nil, fmt.Errorf("compile cache: %w", err)
	}
	var out []Entry
	for _, de := range des {
		key, ok := strings.CutSuffix(de.Name(), entrySuffix)
		if !ok || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, Entry{Key: key, Size: fi.Size(), LastUsed: fi.ModTime()})
	}
	slices.SortFunc(out, func(a, b Entry) int { return b.LastUsed.Compare(a.LastUsed) })
	return out, nil
}

// Remove deletes the entry for key; a missing entry is not an error.
func (c *Cache) Remove(key string) error {
	path, err := c.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("compile cache: %w", err)
	}
	return nil
}

// Clear deletes every entry (and stale temporary files) and returns how
// many entries there were.
func (c *Cache) Clear() (int, error) {
	des, err := os.ReadDir(c.dir)
	if err != nil {
		return 0, fmt.Errorf("compile cache: %w", err)
	}
	n := 0
	var errs []error
	for _, de := range des {
		name := de.Name()
		isEntry := strings.HasSuffix(name, entrySuffix) && !strings.HasPrefix(name, ".")
		if !isEntry && !strings.HasPrefix(name, ".tmp-") {
			continue
		}
		if err := os.Remove(filepath.Join(c.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		} else if isEntry {
			n++
		}
	}
	return n, errors.Join(errs...)
}

// Prune deletes the least recently used entries until the cache holds at
// most maxBytes, and returns what it deleted.
func (c *Cache) Prune(maxBytes int64) ([]Entry, error) { return c.prune(maxBytes, "") }

func (c *Cache) prune(maxBytes int64, keep string) ([]Entry, error) {
	entries, err := c.List()
	if err != nil {
		return nil, err
	}
	var total int64
	for _, e := range entries {
		total += e.Size
	}
	var removed []Entry
	// Oldest first; List sorts newest first.
	slices.SortStableFunc(entries, func(a, b Entry) int { return cmp.Compare(a.LastUsed.UnixNano(), b.LastUsed.UnixNano()) })
	for _, e := range entries {
		if total <= maxBytes {
			break
		}
		if e.Key == keep {
			continue
		}
		if err := c.Remove(e.Key); err != nil {
			return removed, err
		}
		total -= e.Size
		removed = append(removed, e)
	}
	return removed, nil
}
