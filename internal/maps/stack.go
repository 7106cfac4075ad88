package maps

import (
	"encoding/binary"
	"fmt"

	"github.com/gobcc/gobcc/internal/bpfsys"
)

// Stack trace layout (include/uapi/linux/bpf.h).
const (
	// FlagStackBuildID is the map flag of BPF_STACK_TRACE_BUILDID
	// (BPF_F_STACK_BUILD_ID).
	FlagStackBuildID = 1 << 5
	// MaxStackDepth is the frames per stack of BCC's BPF_STACK_TRACE
	// (BPF_MAX_STACK_DEPTH).
	MaxStackDepth = 127
	// BuildIDValid is the status of a frame with a build id and offset
	// (BPF_STACK_BUILD_ID_VALID).
	BuildIDValid = 1

	buildIDFrameSize = 32 // struct bpf_stack_build_id
)

// BuildIDFrame is one frame of a build-id stack (struct bpf_stack_build_id).
type BuildIDFrame struct {
	Status  int32
	BuildID [20]byte
	Offset  uint64
	IP      uint64 // the same bytes as Offset, for status IP
}

func (m *Map) stackLeaf(stackID int64) ([]byte, error) {
	if m.typ != StackTrace {
		return nil, fmt.Errorf("table %s is a %s, not a stack trace: %w", m.name, m.typ, ErrWrongTableType)
	}
	if err := m.check(opRead); err != nil {
		return nil, err
	}
	if stackID < 0 || stackID > 0xffffffff {
		// bpf_get_stackid returned an error (-EFAULT: no stack, -EEXIST:
		// hash collision without BPF_F_REUSE_STACKID, -ENOMEM: map full).
		return nil, fmt.Errorf("table %s: stack id %d is a bpf_get_stackid error: %w", m.name, stackID, bpfsys.ErrKeyNotExist)
	}
	key := make([]byte, m.keySize)
	switch m.keySize {
	case 4:
		binary.NativeEndian.PutUint32(key, uint32(stackID))
	case 8:
		binary.NativeEndian.PutUint64(key, uint64(stackID))
	default:
		return nil, fmt.Errorf("table %s: key size %d: %w", m.name, m.keySize, ErrTypeMismatch)
	}
	leaf := make([]byte, m.leafSize)
	if err := m.WithFD(func(fd int) error { return bpfsys.MapLookup(fd, key, leaf) }); err != nil {
		return nil, m.wrap(fmt.Sprintf("stack %d", stackID), err)
	}
	return leaf, nil
}

// Walk returns the addresses of a stack, innermost first (BCC's
// table.walk(stack_id)), stopping at the first zero address and after
// MaxStackDepth frames.
func (m *Map) Walk(stackID int64) ([]uint64, error) {
	if m.flags&FlagStackBuildID != 0 {
		return nil, fmt.Errorf("table %s stores build ids: use WalkBuildID: %w", m.name, ErrWrongTableType)
	}
	leaf, err := m.stackLeaf(stackID)
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

// WalkBuildID returns the frames of a build-id stack, stopping, as BCC's
// walk, at the first frame whose status is not valid.
func (m *Map) WalkBuildID(stackID int64) ([]BuildIDFrame, error) {
	if m.flags&FlagStackBuildID == 0 {
		return nil, fmt.Errorf("table %s stores addresses: use Walk: %w", m.name, ErrWrongTableType)
	}
	leaf, err := m.stackLeaf(stackID)
	if err != nil {
		return nil, err
	}
	var out []BuildIDFrame
	for i := 0; i+buildIDFrameSize <= len(leaf) && len(out) < MaxStackDepth; i += buildIDFrameSize {
		var f BuildIDFrame
		f.Status = int32(binary.NativeEndian.Uint32(leaf[i:]))
		copy(f.BuildID[:], leaf[i+4:i+24])
		f.Offset = binary.NativeEndian.Uint64(leaf[i+24:])
		f.IP = f.Offset
		if f.Status != BuildIDValid {
			break
		}
		out = append(out, f)
	}
	return out, nil
}
