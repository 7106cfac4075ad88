package bcc

import (
	"errors"
	"fmt"
	"math/big"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfsys"
)

// tableOp is a kind of table operation, for checking that the map type
// admits it before asking the kernel.
type tableOp int

const (
	opRead    tableOp = iota // Lookup, Items, batch lookups
	opWrite                  // Update, batch updates
	opDelete                 // Delete, batch deletes
	opIterate                // Keys, Len: walking the keys only
	opClear                  // Clear
	opZero                   // Zero
)

// holdsHandles reports whether the map's values are file descriptors of
// other kernel objects (programs, maps, devices, sockets, perf events,
// cgroups). User space stores descriptors into them; where it may read
// them back the kernel answers with the object's ID, and empty slots are
// missing keys rather than zero values.
func (t MapType) holdsHandles() bool {
	switch t {
	case MapProgArray, MapPerfEventArray, MapCgroupArray, MapArrayOfMaps, MapHashOfMaps,
		MapDevmap, MapDevmapHash, MapCpumap, MapXskmap, MapSockmap, MapSockhash:
		return true
	}
	return false
}

// readableHandles reports whether the kernel lets user space look up a
// handle map's entries: prog arrays give program IDs, maps of maps map IDs,
// devmaps the ifindex and cpumaps the queue size. Perf event arrays,
// cgroup arrays and xskmaps refuse lookups (ENOTSUPP), and sockmaps and
// sockhashes only answer socket cookies into 8-byte values, while BCC
// declares them with 4-byte ones (ENOSPC).
func (t MapType) readableHandles() bool {
	switch t {
	case MapProgArray, MapArrayOfMaps, MapHashOfMaps, MapDevmap, MapDevmapHash, MapCpumap:
		return true
	}
	return false
}

// checkOp returns ErrClosed after Close, and an error wrapping
// ErrWrongTableType when the map type cannot do op: the kernel would refuse
// it, or another API owns it (queues and stacks: Push/Pop; ring buffers and
// perf buffers: the events API).
func (t *Table) checkOp(op tableOp) error {
	if t.FD() < 0 {
		return fmt.Errorf("table %s: %w", t.name, ErrClosed)
	}
	refuse := func(why string) error {
		return fmt.Errorf("table %s is a %s: %s: %w", t.name, t.mapType, why, ErrWrongTableType)
	}
	switch t.mapType {
	case MapRingbuf, MapQueue, MapStack:
		return refuse("it has no keys; use its own read and write methods")
	case MapStackTrace:
		if op == opWrite || op == opZero {
			return refuse("only BPF programs write stack traces")
		}
	}
	if t.mapType.holdsHandles() {
		switch op {
		case opRead:
			if !t.mapType.readableHandles() {
				return refuse("the kernel does not let user space read its entries")
			}
		case opZero:
			return refuse("its values are handles, not numbers; use Clear")
		}
	}
	return nil
}

// resolveHandle turns what a handle map stores from its Go form into the
// descriptor the kernel wants: a *Function gives its program fd (prog
// arrays; the BPF object's mutex is held until release, so a function of
// this object cannot be closed meanwhile; one of another object must stay
// loaded during the call), a *Table its map
// fd (maps of maps), read-locked until release so that its Close waits, and
// a string names a cgroup directory for cgroup arrays, opened for the
// update and closed by release (BCC's CgroupArray[idx] = "/sys/fs/cgroup/...").
// Anything else passes through unchanged.
func (t *Table) resolveHandle(value any) (resolved any, release func(), err error) {
	release = func() {}
	switch v := value.(type) {
	case *Function:
		if t.mapType != MapProgArray {
			return nil, release, fmt.Errorf("table %s is a %s: only prog arrays hold functions: %w", t.name, t.mapType, ErrTypeMismatch)
		}
		if v == nil || v.FD < 0 {
			return nil, release, fmt.Errorf("table %s: function not loaded: %w", t.name, ErrTypeMismatch)
		}
		// Close closes functions under b.mu: hold it (before t.mu, the
		// lock order) so that the program fd stays open for the update.
		t.b.mu.Lock()
		if t.b.closed {
			t.b.mu.Unlock()
			return nil, release, fmt.Errorf("table %s: %w", t.name, ErrClosed)
		}
		return v.FD, t.b.mu.Unlock, nil
	case *Table:
		if t.mapType != MapArrayOfMaps && t.mapType != MapHashOfMaps {
			return nil, release, fmt.Errorf("table %s is a %s: only maps of maps hold tables: %w", t.name, t.mapType, ErrTypeMismatch)
		}
		if v == t {
			// The kernel refuses it anyway; read-locking t twice could
			// deadlock against a Close waiting in between.
			return nil, release, fmt.Errorf("table %s cannot hold itself: %w", t.name, ErrTypeMismatch)
		}
		v.mu.RLock()
		if v.fd < 0 {
			v.mu.RUnlock()
			return nil, release, fmt.Errorf("table %s: inner table %s: %w", t.name, v.name, ErrClosed)
		}
		return v.fd, v.mu.RUnlock, nil
	case string:
		if t.mapType != MapCgroupArray {
			return value, release, nil
		}
		fd, err := unix.Open(v, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_DIRECTORY, 0)
		if err != nil {
			return nil, release, fmt.Errorf("table %s: open cgroup %s: %w", t.name, v, err)
		}
		return fd, func() { unix.Close(fd) }, nil
	}
	return value, release, nil
}

// SetFunction stores fn in a prog array at index idx so that BPF programs
// can tail-call it with table.call(ctx, idx); it is Update(idx, fn). fn must
// be loaded with the program type of the functions that call it.
func (t *Table) SetFunction(idx int, fn *Function) error {
	if t.mapType != MapProgArray {
		return fmt.Errorf("table %s is a %s, not a prog_array: %w", t.name, t.mapType, ErrWrongTableType)
	}
	return t.Update(idx, fn)
}

// clear implements Clear for every map type checkOp admits.
func (t *Table) clear(fd int) error {
	switch {
	case t.mapType == MapArray || t.mapType == MapPercpuArray:
		return bpfsys.ZeroArray(fd, t.maxEntries, t.valueStride())
	case t.mapType.holdsHandles() && t.mapType.IsArray():
		// Handle arrays delete entries (the slot becomes empty); an empty
		// slot says ENOENT, or EINVAL for sockmaps.
		return bpfsys.DeleteIndexes(fd, t.maxEntries, t.mapType == MapSockmap)
	default:
		_, err := bpfsys.DeleteAll(fd, t.keySize, t.leafSize, t.mapType.PerCPU(), t.ncpu)
		return err
	}
}

// batchRefused reports whether a batch command failed because the kernel
// or map type lacks it (kernels before 5.6 say EINVAL).
func batchRefused(err error) bool {
	return errors.Is(err, ErrNotSupported) || errors.Is(err, unix.EINVAL)
}

// perCPUIntegers reads key's per-CPU values as integers, for Sum, Max and
// Average.
func (t *Table) perCPUIntegers(op, key any) ([]*big.Int, error) {
	if !t.mapType.PerCPU() {
		return nil, fmt.Errorf("table %s is a %s, not per-CPU: %w", t.name, t.mapType, ErrWrongTableType)
	}
	if !t.leafType.IsInteger() {
		return nil, fmt.Errorf("table %s: %s needs an integer leaf, not %s: %w", t.name, op, t.leafType, ErrTypeMismatch)
	}
	vals, err := t.LookupPerCPU(key)
	if err != nil {
		return nil, err
	}
	out := make([]*big.Int, len(vals))
	for i, v := range vals {
		out[i] = v.Big()
	}
	return out, nil
}

// fromBig returns n as a Value of the leaf type, wrapped to its width as C
// arithmetic (and BCC's sLeaf(sum(...))) does.
func (t *Table) fromBig(n *big.Int) (Value, error) {
	v, err := t.leafType.FromBig(n)
	return Value{v}, err
}

// Sum adds key's values over every possible CPU (BCC's PerCpuHash.sum and
// PerCpuArray.sum). The result is a value of the leaf type, wrapping at its
// width as BCC's does. Unlike BCC it works for integer leaves of any size.
func (t *Table) Sum(key any) (Value, error) {
	vals, err := t.perCPUIntegers("Sum", key)
	if err != nil {
		return Value{}, err
	}
	sum := new(big.Int)
	for _, v := range vals {
		sum.Add(sum, v)
	}
	return t.fromBig(sum)
}

// Max returns key's largest value over every possible CPU (BCC's max()).
func (t *Table) Max(key any) (Value, error) {
	vals, err := t.perCPUIntegers("Max", key)
	if err != nil {
		return Value{}, err
	}
	best := vals[0]
	for _, v := range vals[1:] {
		if v.Cmp(best) > 0 {
			best = v
		}
	}
	return t.fromBig(best)
}

// Average is Sum divided by the number of possible CPUs (BCC's average()).
func (t *Table) Average(key any) (float64, error) {
	sum, err := t.Sum(key)
	if err != nil {
		return 0, err
	}
	f, _ := new(big.Float).SetInt(sum.Big()).Float64()
	return f / float64(t.ncpu), nil
}

// PossibleCPUs is the number of values a per-CPU table keeps per key (0 for
// other tables).
func (t *Table) PossibleCPUs() int {
	if !t.mapType.PerCPU() {
		return 0
	}
	return t.ncpu
}
