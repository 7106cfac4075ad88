package ctype

import (
	"fmt"
	"math/big"
)

// perCPUStride is the room the kernel gives each CPU's value of a per-CPU
// map: the value's size rounded up to 8 bytes.
func (t *Type) perCPUStride() int { return (t.Size + 7) &^ 7 }

// DecodePerCPU decodes ncpu values laid out as the kernel returns a per-CPU
// map's value: one per possible CPU, each padded to 8 bytes. The Values
// alias b.
func (t *Type) DecodePerCPU(b []byte, ncpu int) ([]Value, error) {
	stride := t.perCPUStride()
	out := make([]Value, ncpu)
	for c := range out {
		if len(b) < c*stride+t.Size {
			return nil, fmt.Errorf("%w: %d bytes for %d per-CPU %d-byte values", ErrShortBuffer, len(b), ncpu, t.Size)
		}
		out[c] = Value{typ: t, data: b[c*stride : c*stride+t.Size : c*stride+t.Size]}
	}
	return out, nil
}

// EncodePerCPU encodes a per-CPU map's value for ncpu possible CPUs: v is a
// []any of exactly ncpu values, one per CPU, or a single value stored for
// every CPU.
func (t *Type) EncodePerCPU(v any, ncpu int) ([]byte, error) {
	each, ok := v.([]any)
	if !ok {
		each = make([]any, ncpu)
		for c := range each {
			each[c] = v
		}
	}
	if len(each) != ncpu {
		return nil, encErr(t, "%d per-CPU values for %d possible CPUs", len(each), ncpu)
	}
	stride := t.perCPUStride()
	out := make([]byte, stride*ncpu)
	for c, e := range each {
		if err := t.EncodeTo(out[c*stride:c*stride+t.Size], e); err != nil {
			return nil, fmt.Errorf("value for CPU %d: %w", c, err)
		}
	}
	return out, nil
}

// FromBig returns n as a value of the integer type t, wrapped to its width
// as C arithmetic wraps (two's complement for negative n).
func (t *Type) FromBig(n *big.Int) (Value, error) {
	mod := new(big.Int).Lsh(big.NewInt(1), uint(8*t.Size))
	be := new(big.Int).Mod(n, mod).FillBytes(make([]byte, t.Size))
	b := make([]byte, t.Size)
	for i := range be {
		b[i] = be[len(be)-1-i] // little-endian, as values are read
	}
	return t.Decode(b)
}
