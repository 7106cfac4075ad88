//go:build linux

package bpfsys

import (
	"errors"
	"fmt"
	"structs"
	"unsafe"

	"golang.org/x/sys/unix"
)

// progLoadAttr is the BPF_PROG_LOAD part of union bpf_attr up to
// log_true_size (Linux 6.4); older kernels accept it because the fields they
// lack are zero.
type progLoadAttr struct {
	_                  structs.HostLayout
	progType           uint32
	insnCnt            uint32
	insns              pointer
	license            pointer
	logLevel           uint32
	logSize            uint32
	logBuf             pointer
	kernVersion        uint32
	progFlags          uint32
	progName           objName
	progIfindex        uint32
	expectedAttachType uint32
	progBTFFD          uint32
	funcInfoRecSize    uint32
	funcInfo           pointer
	funcInfoCnt        uint32
	lineInfoRecSize    uint32
	lineInfo           pointer
	lineInfoCnt        uint32
	attachBTFID        uint32
	attachBTFObjFD     uint32
	coreReloCnt        uint32
	fdArray            pointer
	coreRelos          pointer
	coreReloRecSize    uint32
	logTrueSize        uint32
}

// Verifier log sizes: the kernel refuses buffers under 128 bytes or over
// UINT_MAX >> 2.
const (
	defaultLogSize = 64 << 10
	minLogSize     = 128
	maxLogSize     = (1<<32 - 1) >> 2
)

// ProgLoadAttr describes a program for ProgLoad.
type ProgLoadAttr struct {
	// Type is the BPF_PROG_TYPE_* value.
	Type uint32
	// Insns holds the instructions, 8 bytes each, in host byte order.
	Insns []byte
	// License is the program's license; helpers marked GPL-only need a
	// GPL-compatible one.
	License string
	// Name labels the program (15 bytes, see MapCreate).
	Name string
	// LogLevel is the verifier's log level (1 or 2, 4 for statistics).
	// With 0, a failed load is repeated at level 1 to obtain the log.
	LogLevel uint32
	// LogSize is the first log buffer size; 0 means 64 KiB. The buffer
	// grows while the kernel reports it too small.
	LogSize int
	// Flags holds BPF_F_* load flags.
	Flags uint32
	// ExpectedAttachType is the BPF_* attach type some program types need
	// at load time.
	ExpectedAttachType uint32
	// AttachBTFID is the BTF type id of the attach target (fentry, LSM,
	// tp_btf programs); AttachBTFObjFD the BTF object holding it, 0 for
	// vmlinux.
	AttachBTFID, AttachBTFObjFD uint32
	// KernVersion is LINUX_VERSION_CODE, which kprobe programs needed
	// before Linux 5.0.
	KernVersion uint32
}

// ProgLoad loads a program and returns its close-on-exec file descriptor
// and the verifier log (empty when no log was asked for and the load
// succeeded). On failure the log explains the rejection and err matches the
// errno, usually unix.EACCES or unix.EINVAL.
func ProgLoad(p ProgLoadAttr) (fd int, log string, err error) {
	if len(p.Insns) == 0 || len(p.Insns)%8 != 0 {
		return -1, "", fmt.Errorf("bpf prog load: %d bytes of instructions is not a positive multiple of 8: %w", len(p.Insns), unix.EINVAL)
	}
	fd, log, errno := progLoad(p, p.LogLevel)
	if errno != 0 && p.LogLevel == 0 {
		// Without a log the caller only learns "permission denied"; the
		// verifier's reasons are worth a second run.
		var retryErrno unix.Errno
		fd, log, retryErrno = progLoad(p, 1)
		if retryErrno == 0 {
			errno = 0
		}
	}
	if errno != 0 {
		return -1, log, newError("prog load", errno)
	}
	return fd, log, nil
}

// progLoad loads p at logLevel, growing the log buffer while the kernel
// says ENOSPC, and returns the fd, the log and the errno.
func progLoad(p ProgLoadAttr, logLevel uint32) (int, string, unix.Errno) {
	license := cStringBytes(p.License)
	attr := progLoadAttr{
		progType:           p.Type,
		insnCnt:            uint32(len(p.Insns) / 8),
		insns:              ptrTo(p.Insns),
		license:            ptrTo(license),
		kernVersion:        p.KernVersion,
		progFlags:          p.Flags,
		progName:           newObjName(p.Name),
		expectedAttachType: p.ExpectedAttachType,
		attachBTFID:        p.AttachBTFID,
		attachBTFObjFD:     p.AttachBTFObjFD,
	}
	var logBuf []byte
	if logLevel != 0 {
		size := p.LogSize
		if size <= 0 {
			size = defaultLogSize
		}
		logBuf = make([]byte, min(max(size, minLogSize), maxLogSize))
	}
	for {
		attr.logLevel = logLevel
		attr.logSize = uint32(len(logBuf))
		attr.logBuf = ptrTo(logBuf)
		attr.logTrueSize = 0
		fd, errno := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
		if errno == unix.ENOSPC && logLevel != 0 && len(logBuf) < maxLogSize {
			// Linux 6.4+ says how much it needed; older kernels make us guess.
			next := max(int(attr.logTrueSize), len(logBuf)*4)
			logBuf = make([]byte, min(next, maxLogSize))
			continue
		}
		if errno != 0 {
			return -1, cString(logBuf), errno
		}
		return int(fd), cString(logBuf), 0
	}
}

// rawTracepointOpenAttr is the BPF_RAW_TRACEPOINT_OPEN part of union
// bpf_attr, without the 6.10 cookie.
type rawTracepointOpenAttr struct {
	_      structs.HostLayout
	name   pointer
	progFD uint32
	_      uint32
}

// RawTracepointOpen attaches a BPF_PROG_TYPE_RAW_TRACEPOINT program to the
// raw tracepoint name (for example "sys_enter") and returns the
// close-on-exec link descriptor; closing it detaches the program.
func RawTracepointOpen(name string, progFD int) (int, error) {
	attr := rawTracepointOpenAttr{progFD: uint32(progFD)}
	// An empty name must be a NULL pointer: fentry/fexit/LSM programs
	// carry their target from load time, and the kernel refuses any name
	// for them with EINVAL (even "", as 6.1 does when no lockdown refuses
	// earlier).
	var cname []byte
	if name != "" {
		cname = cStringBytes(name)
		attr.name = ptrTo(cname)
	}
	fd, errno := bpf(unix.BPF_RAW_TRACEPOINT_OPEN, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if errno != 0 {
		return -1, newError("raw tracepoint open", errno)
	}
	return int(fd), nil
}

// bpfProgInfo is struct bpf_prog_info up to attach_btf_id (Linux 6.0).
type bpfProgInfo struct {
	_                    structs.HostLayout
	progType             uint32
	id                   uint32
	tag                  [8]byte
	jitedProgLen         uint32
	xlatedProgLen        uint32
	jitedProgInsns       uint64
	xlatedProgInsns      uint64
	loadTime             uint64
	createdByUID         uint32
	nrMapIDs             uint32
	mapIDs               pointer
	name                 objName
	ifindex              uint32
	gplCompatible        uint32
	netnsDev             uint64
	netnsIno             uint64
	nrJitedKsyms         uint32
	nrJitedFuncLens      uint32
	jitedKsyms           uint64
	jitedFuncLens        uint64
	btfID                uint32
	funcInfoRecSize      uint32
	funcInfo             uint64
	nrFuncInfo           uint32
	nrLineInfo           uint32
	lineInfo             uint64
	jitedLineInfo        uint64
	nrJitedLineInfo      uint32
	lineInfoRecSize      uint32
	jitedLineInfoRecSize uint32
	nrProgTags           uint32
	progTags             uint64
	runTimeNs            uint64
	runCnt               uint64
	recursionMisses      uint64
	verifiedInsns        uint32
	attachBTFObjID       uint32
	attachBTFID          uint32
	_                    uint32
}

// ProgInfo describes a loaded program as the kernel reports it.
type ProgInfo struct {
	// Type is the BPF_PROG_TYPE_* value.
	Type uint32
	// ID is the kernel-wide program id.
	ID uint32
	// Name is the object name, at most 15 bytes.
	Name string
	// Tag is the SHA-1 prefix of the instructions that bpftool shows.
	Tag [8]byte
	// JitedLen and XlatedLen are the sizes in bytes of the JIT image and of
	// the instructions after verifier rewrites.
	JitedLen, XlatedLen uint32
	// LoadTime is when the program was loaded, in nanoseconds since boot.
	LoadTime uint64
	// CreatedByUID is the uid of the loader.
	CreatedByUID uint32
	// MapIDs lists the maps the program uses.
	MapIDs []uint32
	// GPLCompatible reports whether the license allows GPL-only helpers.
	GPLCompatible bool
	// BTFID is the program's BTF object, 0 without BTF.
	BTFID uint32
	// RunTimeNs and RunCount accumulate while kernel.bpf_stats_enabled is 1.
	RunTimeNs, RunCount uint64
	// RecursionMisses counts runs skipped because the program was already
	// running on that CPU.
	RecursionMisses uint64
	// VerifiedInsns is how many instructions the verifier processed; it is
	// valid only when HasVerifiedInsns (Linux 5.16+).
	VerifiedInsns uint32
	// HasVerifiedInsns reports whether the kernel filled VerifiedInsns.
	HasVerifiedInsns bool
	// AttachBTFObjID and AttachBTFID name the attach target of BTF-typed
	// programs (Linux 6.0+).
	AttachBTFObjID, AttachBTFID uint32
}

// ProgInfoByFD returns what the kernel knows about the program behind fd.
func ProgInfoByFD(fd int) (ProgInfo, error) {
	var raw bpfProgInfo
	written, err := objInfo("prog info", fd, unsafe.Pointer(&raw), unsafe.Sizeof(raw))
	if err != nil {
		return ProgInfo{}, err
	}
	info := ProgInfo{
		Type:             raw.progType,
		ID:               raw.id,
		Name:             raw.name.String(),
		Tag:              raw.tag,
		JitedLen:         raw.jitedProgLen,
		XlatedLen:        raw.xlatedProgLen,
		LoadTime:         raw.loadTime,
		CreatedByUID:     raw.createdByUID,
		GPLCompatible:    raw.gplCompatible&1 != 0,
		BTFID:            raw.btfID,
		RunTimeNs:        raw.runTimeNs,
		RunCount:         raw.runCnt,
		RecursionMisses:  raw.recursionMisses,
		VerifiedInsns:    raw.verifiedInsns,
		HasVerifiedInsns: uintptr(written) >= unsafe.Offsetof(raw.verifiedInsns)+4,
		AttachBTFObjID:   raw.attachBTFObjID,
		AttachBTFID:      raw.attachBTFID,
	}
	if raw.nrMapIDs > 0 {
		// A second call with only the map id array requested: any other
		// non-zero length field would make the kernel copy to a nil pointer.
		ids := make([]uint32, raw.nrMapIDs)
		req := bpfProgInfo{nrMapIDs: raw.nrMapIDs, mapIDs: pointer{ptr: unsafe.Pointer(&ids[0])}}
		if _, err := objInfo("prog info", fd, unsafe.Pointer(&req), unsafe.Sizeof(req)); err != nil {
			return ProgInfo{}, err
		}
		info.MapIDs = ids[:min(req.nrMapIDs, raw.nrMapIDs)]
	}
	return info, nil
}

// bpfLinkInfo is the fixed head of struct bpf_link_info plus room for its
// union, which stays zero so no type-specific output pointer is followed.
type bpfLinkInfo struct {
	_      structs.HostLayout
	typ    uint32
	id     uint32
	progID uint32
	_      uint32
	_      [64]byte
}

// LinkInfo describes a BPF link.
type LinkInfo struct {
	// Type is the BPF_LINK_TYPE_* value.
	Type uint32
	// ID is the kernel-wide link id.
	ID uint32
	// ProgID is the attached program's id.
	ProgID uint32
}

// LinkInfoByFD returns the type, id and program of the link behind fd.
func LinkInfoByFD(fd int) (LinkInfo, error) {
	var raw bpfLinkInfo
	if _, err := objInfo("link info", fd, unsafe.Pointer(&raw), unsafe.Sizeof(raw)); err != nil {
		return LinkInfo{}, err
	}
	return LinkInfo{Type: raw.typ, ID: raw.id, ProgID: raw.progID}, nil
}

// idAttr is the BPF_*_GET_NEXT_ID and BPF_*_GET_FD_BY_ID part of union
// bpf_attr.
type idAttr struct {
	_         structs.HostLayout
	id        uint32
	nextID    uint32
	openFlags uint32
}

// listIDs walks a GET_NEXT_ID command from the start.
func listIDs(cmd uintptr, op string) ([]uint32, error) {
	var ids []uint32
	attr := idAttr{}
	for {
		if _, errno := bpf(cmd, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); errno != 0 {
			if errno == unix.ENOENT {
				return ids, nil
			}
			return ids, newError(op, errno)
		}
		ids = append(ids, attr.nextID)
		attr.id = attr.nextID
	}
}

// ProgIDs lists the ids of every program loaded on the machine, ascending.
func ProgIDs() ([]uint32, error) { return listIDs(unix.BPF_PROG_GET_NEXT_ID, "prog get next id") }

// MapIDs lists the ids of every map on the machine, ascending.
func MapIDs() ([]uint32, error) { return listIDs(unix.BPF_MAP_GET_NEXT_ID, "map get next id") }

// LinkIDs lists the ids of every BPF link on the machine, ascending.
func LinkIDs() ([]uint32, error) { return listIDs(unix.BPF_LINK_GET_NEXT_ID, "link get next id") }

// ErrNoSuchObject reports that no program, map or link has the id asked
// for, usually because it was freed meanwhile.
var ErrNoSuchObject = errors.New("no object with that id")

// fdByID opens a close-on-exec descriptor for an object id.
func fdByID(cmd uintptr, op string, id uint32) (int, error) {
	attr := idAttr{id: id}
	fd, errno := bpf(cmd, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if errno == unix.ENOENT {
		return -1, &SyscallError{Op: op, Errno: errno, kind: ErrNoSuchObject}
	}
	if errno != 0 {
		return -1, newError(op, errno)
	}
	return int(fd), nil
}

// ProgGetFDByID opens the program with id; a vanished id returns an error
// matching ErrNoSuchObject.
func ProgGetFDByID(id uint32) (int, error) {
	return fdByID(unix.BPF_PROG_GET_FD_BY_ID, "prog get fd by id", id)
}

// MapGetFDByID opens the map with id; a vanished id returns an error
// matching ErrNoSuchObject.
func MapGetFDByID(id uint32) (int, error) {
	return fdByID(unix.BPF_MAP_GET_FD_BY_ID, "map get fd by id", id)
}

// LinkGetFDByID opens the link with id; a vanished id returns an error
// matching ErrNoSuchObject.
func LinkGetFDByID(id uint32) (int, error) {
	return fdByID(unix.BPF_LINK_GET_FD_BY_ID, "link get fd by id", id)
}
