package bcc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gobcc/gobcc/debugflags"
	"github.com/gobcc/gobcc/internal/bpfobj"
	"github.com/gobcc/gobcc/internal/cache"
	"github.com/gobcc/gobcc/internal/compiler"
	"github.com/gobcc/gobcc/internal/libbcc"
)

// ErrBadObject means a compiled object (Options.Object, ObjectFile or a
// cache entry) is corrupt, truncated, of another format version or
// architecture, or untrusted (wrong owner or mode). Nothing of it was
// loaded.
var ErrBadObject = errors.New("bad BPF object")

// debugNeedsLibbcc are the debug flags whose output comes from libbcc: LLVM
// IR, the preprocessed source and BTF diagnostics while compiling, and the
// verifier log annotated with source lines, which needs the BTF line
// information libbcc passes at load and a cached object does not carry.
// They bypass the cache.
const debugNeedsLibbcc = debugflags.All

// cacheKeyVersion changes whenever what goes into a key changes meaning.
const cacheKeyVersion = "gobcc-cache-1"

// compileInputs is everything New hands libbcc, and where it came from.
type compileInputs struct {
	req    compiler.Request
	source string // file name for messages
}

// cacheKey returns the compile cache's key for in, or an error saying why
// this compile cannot be cached.
func cacheKey(in compileInputs, headers string) (string, error) {
	if len(in.req.USDT) > 0 {
		// USDT argument code is generated from the traced binary: not
		// something the key can see.
		return "", errors.New("USDT contexts")
	}
	if debugflags.Flags(in.req.DebugFlags)&debugNeedsLibbcc != 0 {
		return "", errors.New("debug flags")
	}
	if err := storable(in.req.Text); err != nil {
		return "", err
	}
	stamps, err := cache.IncludeStamps(in.req.CFlags)
	if err != nil {
		return "", err
	}
	quoted, err := cache.QuotedIncludeStamps(in.req.Text, cache.QuoteDirs(in.req.CFlags))
	if err != nil {
		return "", err
	}
	libPath, libVersion, err := libbcc.Installed()
	if err != nil {
		return "", err
	}
	return cache.Key(cacheKeyVersion, strconv.Itoa(bpfobj.FormatVersion), runtime.GOARCH,
		libPath, libVersion.String(), headers, in.req.Text,
		strings.Join(in.req.CFlags, "\x00"), stamps, quoted), nil
}

// storable says why a program's compiled form cannot stand alone.
func storable(text string) error {
	if m := cache.SharedTables(text); m != "" {
		return fmt.Errorf("%w: the program uses %s tables, which an object cannot open", ErrNotSupported, m)
	}
	return nil
}

// headerIdentity names the kernel header tree a compile uses
// (cache.HeaderIdentity).
func headerIdentity(kernelSource string) string {
	return cache.HeaderIdentity(kernelRelease(), kernelSource, os.Getenv("BCC_KERNEL_SOURCE"))
}

// openSession gives New a compiled program: from opts' object, from the
// compile cache, or from libbcc. What it noticed but did not fail on (a bad
// cache entry, an unusable cache) is written to warn. A compile that may be
// cached comes back with a pendingEntry: New stores it once every function
// has passed the verifier, so that a program the verifier rejects is never
// served from the cache (its log would lack libbcc's source lines).
func openSession(ctx context.Context, opts Options, in compileInputs, warn func(string)) (compiler.Session, *pendingEntry, error) {
	if opts.Object != nil || opts.ObjectFile != "" {
		s, err := objectSession(opts)
		return s, nil, err
	}
	var c *cache.Cache
	var key string
	if !opts.NoCache {
		// An error from cacheKey means the compile cannot be cached (USDT,
		// LLVM debug output, huge include directories): compile as BCC
		// always does.
		if k, err := cacheKey(in, headerIdentity(in.req.KernelSource)); err == nil {
			var oerr error
			if c, oerr = cache.Open(""); oerr != nil {
				if errors.Is(oerr, cache.ErrUntrusted) {
					warn(oerr.Error() + "; compiling without the cache")
				}
				c = nil
			}
			key = k
		}
	}
	if c != nil {
		data, err := c.Get(key)
		if err == nil {
			obj, rerr := bpfobj.Read(data)
			if rerr == nil {
				s, err := compiler.FromObject(obj)
				return s, nil, err // an error here is the kernel refusing a table
			}
			err = rerr
		}
		if !errors.Is(err, cache.ErrMiss) {
			warn(fmt.Sprintf("compile cache entry %s ignored (%v); recompiled", key[:12], err))
		}
	}
	s, err := compiler.Compile(ctx, in.req, !opts.InProcess)
	if err != nil || c == nil {
		return s, nil, err
	}
	return s, &pendingEntry{cache: c, key: key, source: in.source}, nil
}

// pendingEntry is a compile waiting to be stored in the cache.
type pendingEntry struct {
	cache  *cache.Cache
	key    string
	source string
}

// store writes the compiled result to the cache. Programs an object cannot
// carry (maps of maps) are silently left out: they compile each time.
func (p *pendingEntry) store(r *compiler.Result) error {
	obj, err := compiler.ToObject(r, p.source, kernelRelease())
	if err != nil {
		return nil
	}
	data, err := bpfobj.Write(obj)
	if err != nil {
		return err
	}
	return p.cache.Put(p.key, data)
}

// objectSession loads Options.Object or ObjectFile.
func objectSession(opts Options) (compiler.Session, error) {
	data := opts.Object
	if data == nil {
		var err error
		if data, err = ReadObjectFile(opts.ObjectFile); err != nil {
			return nil, err
		}
	}
	obj, err := bpfobj.Read(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadObject, err)
	}
	return compiler.FromObject(obj)
}

// ReadObjectFile reads an object written by Build, checking where it came
// from: a regular file owned by root or by this process's user, not
// writable by group or others (anyone who could write it could make this
// process load their code into the kernel).
func ReadObjectFile(path string) ([]byte, error) {
	data, err := bpfobj.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadObject, err)
	}
	return data, nil
}

// CacheEntry is one compiled program in the compile cache.
type CacheEntry struct {
	// Key is the hash of the compile's inputs (the file name).
	Key string
	// Size is the object's size in bytes.
	Size int64
	// LastUsed is when a New last loaded or stored it.
	LastUsed time.Time
}

// CacheDir is the compile cache's directory: $GOBCC_CACHE_DIR/objects, by
// default /var/cache/gobcc/objects.
func CacheDir() string { return cache.Base() + "/objects" }

// CacheEntries lists the compile cache, most recently used first.
func CacheEntries() ([]CacheEntry, error) {
	c, err := cache.Open("")
	if err != nil {
		return nil, err
	}
	entries, err := c.List()
	out := make([]CacheEntry, len(entries))
	for i, e := range entries {
		out[i] = CacheEntry(e)
	}
	return out, err
}

// ClearCache empties the compile cache and returns how many entries it held.
func ClearCache() (int, error) {
	c, err := cache.Open("")
	if err != nil {
		return 0, err
	}
	return c.Clear()
}

// PruneCache removes the least recently used entries until the cache holds
// at most maxBytes, and returns what it removed.
func PruneCache(maxBytes int64) ([]CacheEntry, error) {
	c, err := cache.Open("")
	if err != nil {
		return nil, err
	}
	removed, err := c.Prune(maxBytes)
	out := make([]CacheEntry, len(removed))
	for i, e := range removed {
		out[i] = CacheEntry(e)
	}
	return out, err
}
