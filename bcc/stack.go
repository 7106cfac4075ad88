package bcc

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/gobcc/gobcc/internal/bpfsys"
)

// Flags of bpf_get_stackid(ctx, &map, flags) and the stack map itself.
const (
	// StackSkipMask is the low byte of bpf_get_stackid's flags: how many
	// frames to skip from the top (BPF_F_SKIP_FIELD_MASK).
	StackSkipMask = 0xff
	// StackUserStack collects the user stack instead of the kernel stack
	// (BPF_F_USER_STACK). User stacks follow frame pointers: code built
	// without them yields one or two frames.
	StackUserStack = 1 << 8
	// StackFastCmp compares stacks by hash only, so two stacks colliding
	// in a bucket share an id (BPF_F_FAST_STACK_CMP).
	StackFastCmp = 1 << 9
	// StackReuseStackID replaces the stack stored under a colliding hash
	// instead of failing with -EEXIST (BPF_F_REUSE_STACKID).
	StackReuseStackID = 1 << 10
	// MapFlagStackBuildID is the map flag of BPF_STACK_TRACE_BUILDID: user
	// frames are stored as (build id, file offset) so they can be named
	// after the process exits (BPF_F_STACK_BUILD_ID).
	MapFlagStackBuildID = 1 << 5
	// MaxStackDepth is the frames per stack of BCC's BPF_STACK_TRACE
	// (BPF_MAX_STACK_DEPTH).
	MaxStackDepth = 127
)

// Status of a build-id stack frame (enum bpf_stack_build_id_status).
const (
	// StackBuildIDEmpty: no frame.
	StackBuildIDEmpty = 0
	// StackBuildIDValid: BuildID and Offset are set.
	StackBuildIDValid = 1
	// StackBuildIDIP: the kernel could not read the build id; IP is set.
	StackBuildIDIP = 2
)

// StackBuildIDFrame is one frame of a BPF_STACK_TRACE_BUILDID stack
// (struct bpf_stack_build_id).
type StackBuildIDFrame struct {
	Status  int32
	BuildID [20]byte
	// Offset is the file offset within the module (Status Valid).
	Offset uint64
	// IP is the address (Status IP); it shares storage with Offset.
	IP uint64
}

// BuildIDHex is the build id in lower-case hex, as build-id paths name it.
func (f StackBuildIDFrame) BuildIDHex() string { return hex.EncodeToString(f.BuildID[:]) }

const buildIDFrameSize = 32

func (t *Table) stackLeaf(stackID int64) ([]byte, error) {
	if t.mapType != MapStackTrace {
		return nil, fmt.Errorf("table %s is a %s, not a stack trace: %w", t.name, t.mapType, ErrWrongTableType)
	}
	if err := t.checkOp(opRead); err != nil {
		return nil, err
	}
	if stackID < 0 || stackID > 0xffffffff {
		// bpf_get_stackid returned an error (-EFAULT: no stack, -EEXIST:
		// hash collision without BPF_F_REUSE_STACKID, -ENOMEM: map full).
		return nil, fmt.Errorf("table %s: stack id %d is a bpf_get_stackid error: %w", t.name, stackID, ErrKeyNotExist)
	}
	key := make([]byte, t.keySize)
	switch t.keySize {
	case 4:
		binary.NativeEndian.PutUint32(key, uint32(stackID))
	case 8:
		binary.NativeEndian.PutUint64(key, uint64(stackID))
	default:
		return nil, fmt.Errorf("table %s: key size %d: %w", t.name, t.keySize, ErrTypeMismatch)
	}
	leaf := make([]byte, t.leafSize)
	if err := t.withFD(func(fd int) error { return bpfsys.MapLookup(fd, key, leaf) }); err != nil {
		if errors.Is(err, ErrClosed) {
			return nil, err
		}
		return nil, fmt.Errorf("table %s: stack %d: %w", t.name, stackID, err)
	}
	return leaf, nil
}

// Walk returns the addresses of stack stackID of a BPF_STACK_TRACE table,
// innermost first (BCC's table.walk(stack_id)). Like BCC it stops at the
// first zero address and after MaxStackDepth frames. Build-id tables use
// WalkBuildID.
func (t *Table) Walk(stackID int64) ([]uint64, error) {
	if t.flags&MapFlagStackBuildID != 0 {
		return nil, fmt.Errorf("table %s stores build ids: use WalkBuildID: %w", t.name, ErrWrongTableType)
	}
	leaf, err := t.stackLeaf(stackID)
	if err != nil {
		return nil, err
	}
	var out []uint64
	for i := 0; i+8 <= len(leaf) && i/8 < MaxStackDepth; i += 8 {
		a := binary.NativeEndian.Uint64(leaf[i:])
		if a == 0 {
			break
		}
		out = append(out, a)
	}
	return out, nil
}

// WalkBuildID returns the frames of stack stackID of a
// BPF_STACK_TRACE_BUILDID table. Like BCC's walk it stops at the first
// frame whose status is Empty or IP (the kernel writes IP frames only
// where it could not read a build id).
func (t *Table) WalkBuildID(stackID int64) ([]StackBuildIDFrame, error) {
	if t.flags&MapFlagStackBuildID == 0 {
		return nil, fmt.Errorf("table %s stores addresses: use Walk: %w", t.name, ErrWrongTableType)
	}
	leaf, err := t.stackLeaf(stackID)
	if err != nil {
		return nil, err
	}
	var out []StackBuildIDFrame
	for i := 0; i+buildIDFrameSize <= len(leaf) && len(out) < MaxStackDepth; i += buildIDFrameSize {
		var f StackBuildIDFrame
		f.Status = int32(binary.NativeEndian.Uint32(leaf[i:]))
		copy(f.BuildID[:], leaf[i+4:i+24])
		f.Offset = binary.NativeEndian.Uint64(leaf[i+24:])
		f.IP = f.Offset
		if f.Status != StackBuildIDValid {
			break
		}
		out = append(out, f)
	}
	return out, nil
}
