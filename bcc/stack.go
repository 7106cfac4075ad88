package bcc

import (
	"encoding/hex"

	"github.com/gobcc/gobcc/internal/maps"
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
	MapFlagStackBuildID = maps.FlagStackBuildID
	// MaxStackDepth is the frames per stack of BCC's BPF_STACK_TRACE
	// (BPF_MAX_STACK_DEPTH).
	MaxStackDepth = maps.MaxStackDepth
)

// Status of a build-id stack frame (enum bpf_stack_build_id_status).
const (
	// StackBuildIDEmpty: no frame.
	StackBuildIDEmpty = 0
	// StackBuildIDValid: BuildID and Offset are set.
	StackBuildIDValid = maps.BuildIDValid
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

// Walk returns the addresses of stack stackID of a BPF_STACK_TRACE table,
// innermost first (BCC's table.walk(stack_id)). Like BCC it stops at the
// first zero address and after MaxStackDepth frames. Build-id tables use
// WalkBuildID.
func (t *Table) Walk(stackID int64) ([]uint64, error) { return t.m.Walk(stackID) }

// WalkBuildID returns the frames of stack stackID of a
// BPF_STACK_TRACE_BUILDID table. Like BCC's walk it stops at the first
// frame whose status is Empty or IP (the kernel writes IP frames only
// where it could not read a build id).
func (t *Table) WalkBuildID(stackID int64) ([]StackBuildIDFrame, error) {
	frames, err := t.m.WalkBuildID(stackID)
	if err != nil {
		return nil, err
	}
	out := make([]StackBuildIDFrame, len(frames))
	for i, f := range frames {
		out[i] = StackBuildIDFrame(f)
	}
	return out, nil
}
