// Package cache lists and trims gobcc's compile cache.
//
// bcc.New stores each program it compiles, keyed by a hash of everything
// the compile read (the C text, cflags, libbcc's version, the header tree),
// and loads it from there on the next start instead of compiling again.
// Entries are checked before they are loaded (owner, mode, checksum,
// format version); docs/cache.md describes the format and the checks.
// This package is for tools that manage the cache: `gobcc cache`.
package cache

import (
	"time"

	icache "github.com/gobcc/gobcc/internal/cache"
)

// Entry is one compiled program in the compile cache.
type Entry struct {
	// Key is the hash of the compile's inputs (the file name).
	Key string
	// Size is the object's size in bytes.
	Size int64
	// LastUsed is when a bcc.New last loaded or stored it.
	LastUsed time.Time
}

// Dir is the compile cache's directory: $GOBCC_CACHE_DIR/objects, by
// default /var/cache/gobcc/objects.
func Dir() string { return icache.Base() + "/objects" }

// Entries lists the compile cache, most recently used first.
func Entries() ([]Entry, error) {
	c, err := icache.Open("")
	if err != nil {
		return nil, err
	}
	entries, err := c.List()
	return toEntries(entries), err
}

// Clear empties the compile cache and returns how many entries it held.
func Clear() (int, error) {
	c, err := icache.Open("")
	if err != nil {
		return 0, err
	}
	return c.Clear()
}

// Prune removes the least recently used entries until the cache holds at
// most maxBytes, and returns what it removed.
func Prune(maxBytes int64) ([]Entry, error) {
	c, err := icache.Open("")
	if err != nil {
		return nil, err
	}
	removed, err := c.Prune(maxBytes)
	return toEntries(removed), err
}

func toEntries(in []icache.Entry) []Entry {
	out := make([]Entry, len(in))
	for i, e := range in {
		out[i] = Entry(e)
	}
	return out
}
