package compiler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/debugflags"
	"github.com/gobcc/gobcc/internal/bpfobj"
	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/cache"
	"github.com/gobcc/gobcc/internal/libbcc"
)

// debugNeedsLibbcc are the debug flags whose output comes from libbcc: LLVM
// IR, the preprocessed source and BTF diagnostics while compiling, and the
// verifier log annotated with source lines, which needs the BTF line
// information libbcc passes at load and a cached object does not carry.
// They bypass the cache.
const debugNeedsLibbcc = debugflags.All

// cacheKeyVersion changes whenever what goes into a key changes meaning.
const cacheKeyVersion = "gobcc-cache-1"

// cacheKey returns the compile cache's key for req compiled through the
// header tree headers names, or an error saying why this compile cannot be
// cached.
func cacheKey(req Request, headers string) (string, error) {
	if len(req.USDT) > 0 {
		// USDT argument code is generated from the traced binary: not
		// something the key can see.
		return "", errors.New("USDT contexts")
	}
	if debugflags.Flags(req.DebugFlags)&debugNeedsLibbcc != 0 {
		return "", errors.New("debug flags")
	}
	if err := Storable(req.Text); err != nil {
		return "", err
	}
	stamps, err := cache.IncludeStamps(req.CFlags)
	if err != nil {
		return "", err
	}
	quoted, err := cache.QuotedIncludeStamps(req.Text, cache.QuoteDirs(req.CFlags))
	if err != nil {
		return "", err
	}
	libPath, libVersion, err := libbcc.Installed()
	if err != nil {
		return "", err
	}
	return cache.Key(cacheKeyVersion, strconv.Itoa(bpfobj.FormatVersion), runtime.GOARCH,
		libPath, libVersion.String(), headers, req.Text,
		strings.Join(req.CFlags, "\x00"), stamps, quoted), nil
}

// Storable says why a program's compiled form cannot stand alone as an
// object (an error wrapping bpfsys.ErrNotSupported), or nil.
func Storable(text string) error {
	if m := cache.SharedTables(text); m != "" {
		return fmt.Errorf("%w: the program uses %s tables, which an object cannot open", bpfsys.ErrNotSupported, m)
	}
	return nil
}

// headerIdentity names the kernel header tree a compile uses
// (cache.HeaderIdentity).
func headerIdentity(kernelSource string) string {
	return cache.HeaderIdentity(KernelRelease(), kernelSource, os.Getenv("BCC_KERNEL_SOURCE"))
}

// CompileCached gives a compiled program: from the compile cache, or from
// libbcc (Compile; isolate as there). noCache skips the cache both ways.
// What it noticed but did not fail on (a bad cache entry, an unusable
// cache) is written to warn. A compile that may be cached comes back with a
// Pending: the caller stores it once every function has passed the
// verifier, so that a program the verifier rejects is never served from
// the cache (its log would lack libbcc's source lines).
func CompileCached(ctx context.Context, req Request, source string, noCache, isolate bool, warn func(string)) (Session, *Pending, error) {
	var c *cache.Cache
	var key string
	if !noCache {
		// An error from cacheKey means the compile cannot be cached (USDT,
		// LLVM debug output, huge include directories): compile as BCC
		// always does.
		if k, err := cacheKey(req, headerIdentity(req.KernelSource)); err == nil {
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
				s, err := FromObject(obj)
				return s, nil, err // an error here is the kernel refusing a table
			}
			err = rerr
		}
		if !errors.Is(err, cache.ErrMiss) {
			warn(fmt.Sprintf("compile cache entry %s ignored (%v); recompiled", key[:12], err))
		}
	}
	s, err := Compile(ctx, req, isolate)
	if err != nil || c == nil {
		return s, nil, err
	}
	return s, &Pending{cache: c, key: key, source: source}, nil
}

// Pending is a compile waiting to be stored in the cache.
type Pending struct {
	cache  *cache.Cache
	key    string
	source string
}

// Store writes the compiled result to the cache. Programs an object cannot
// carry (maps of maps) are silently left out: they compile each time.
func (p *Pending) Store(r *Result) error {
	obj, err := ToObject(r, p.source, KernelRelease())
	if err != nil {
		return nil
	}
	data, err := bpfobj.Write(obj)
	if err != nil {
		return err
	}
	return p.cache.Put(p.key, data)
}

// BuildObject compiles req (Compile; isolate as there) and returns it as
// an ELF BPF object whose messages name source. A program an object cannot
// carry (maps of maps) is an error wrapping bpfsys.ErrNotSupported. The
// compile's tables are closed before it returns.
func BuildObject(ctx context.Context, req Request, source string, isolate bool) ([]byte, error) {
	s, err := Compile(ctx, req, isolate)
	if err != nil {
		return nil, err
	}
	defer func() {
		s.Close()
		for _, t := range s.Result().Tables {
			unix.Close(t.FD)
		}
	}()
	obj, err := ToObject(s.Result(), source, KernelRelease())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", bpfsys.ErrNotSupported, err)
	}
	return bpfobj.Write(obj)
}
