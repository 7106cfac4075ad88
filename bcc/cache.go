package bcc

import (
	"context"
	"errors"
	"fmt"

	"github.com/gobcc/gobcc/internal/bpfobj"
	"github.com/gobcc/gobcc/internal/compiler"
)

// ErrBadObject means a compiled object (Options.Object, ObjectFile or a
// cache entry) is corrupt, truncated, of another format version or
// architecture, or untrusted (wrong owner or mode). Nothing of it was
// loaded.
var ErrBadObject = errors.New("bad BPF object")

// compileInputs is everything New hands libbcc, and where it came from.
type compileInputs struct {
	req    compiler.Request
	source string // file name for messages
}

// openSession gives New a compiled program: from opts' object, or from
// the compile cache or libbcc (compiler.CompileCached, which says what warn
// and the Pending are for).
func openSession(ctx context.Context, opts Options, in compileInputs, warn func(string)) (compiler.Session, *compiler.Pending, error) {
	if opts.Object != nil || opts.ObjectFile != "" {
		s, err := objectSession(opts)
		return s, nil, err
	}
	return compiler.CompileCached(ctx, in.req, in.source, opts.NoCache, !opts.InProcess, warn)
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
