//go:build linux

package bpfsys

import (
	"structs"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mapElemAttr is the BPF_MAP_*_ELEM and BPF_MAP_GET_NEXT_KEY part of union
// bpf_attr; for get_next_key the value slot holds next_key.
type mapElemAttr struct {
	_     structs.HostLayout
	mapFD uint32
	_     uint32
	key   pointer
	value pointer
	flags uint64
}

// mapElem runs one element command and classifies its error.
func mapElem(cmd uintptr, op string, fd int, key, value []byte, flags uint64) error {
	attr := mapElemAttr{mapFD: uint32(fd), key: ptrTo(key), value: ptrTo(value), flags: flags}
	if _, errno := bpf(cmd, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); errno != 0 {
		return newMapError(op, errno)
	}
	return nil
}

// MapLookup copies the value stored under key into value, which must hold
// the map's value size (ValueStride bytes for per-CPU maps). A missing key
// returns an error matching ErrKeyNotExist.
func MapLookup(fd int, key, value []byte) error {
	return mapElem(unix.BPF_MAP_LOOKUP_ELEM, "map lookup", fd, key, value, 0)
}

// MapLookupFlags is MapLookup with lookup flags, such as BPF_F_LOCK to copy
// a value that holds a bpf_spin_lock atomically.
func MapLookupFlags(fd int, key, value []byte, flags uint64) error {
	return mapElem(unix.BPF_MAP_LOOKUP_ELEM, "map lookup", fd, key, value, flags)
}

// MapUpdate stores value under key. flags is BPF_ANY, BPF_NOEXIST or
// BPF_EXIST, optionally with BPF_F_LOCK; BPF_EXIST on a missing key returns
// an error matching ErrKeyNotExist, BPF_NOEXIST on a present key one matching
// unix.EEXIST, and a full hash one matching unix.E2BIG.
func MapUpdate(fd int, key, value []byte, flags uint64) error {
	return mapElem(unix.BPF_MAP_UPDATE_ELEM, "map update", fd, key, value, flags)
}

// MapDelete removes key. A missing key returns an error matching
// ErrKeyNotExist; array maps refuse deletion with unix.EINVAL.
func MapDelete(fd int, key []byte) error {
	return mapElem(unix.BPF_MAP_DELETE_ELEM, "map delete", fd, key, nil, 0)
}

// MapGetNextKey writes the key following key into next; a nil key asks for
// the first key. After the last key it returns an error matching
// ErrKeyNotExist. For hash maps a key that is no longer in the map also
// yields the first key, so iteration restarts if the previous key is deleted
// concurrently.
func MapGetNextKey(fd int, key, next []byte) error {
	return mapElem(unix.BPF_MAP_GET_NEXT_KEY, "map get next key", fd, key, next, 0)
}

// MapLookupAndDelete copies the value under key into value and removes the
// entry in one step. Queue and stack maps take a nil key and pop their next
// element; hash maps support it from Linux 5.14.
func MapLookupAndDelete(fd int, key, value []byte) error {
	return mapElem(unix.BPF_MAP_LOOKUP_AND_DELETE_ELEM, "map lookup and delete", fd, key, value, 0)
}

// mapCreateAttr is the BPF_MAP_CREATE part of union bpf_attr, up to
// map_extra (Linux 5.16); the kernel zero-fills what older layouts lack.
type mapCreateAttr struct {
	_                     structs.HostLayout
	mapType               uint32
	keySize               uint32
	valueSize             uint32
	maxEntries            uint32
	mapFlags              uint32
	innerMapFD            uint32
	numaNode              uint32
	mapName               objName
	mapIfindex            uint32
	btfFD                 uint32
	btfKeyTypeID          uint32
	btfValueTypeID        uint32
	btfVmlinuxValueTypeID uint32
	mapExtra              uint64
}

// MapCreate creates a map and returns its file descriptor, which is
// close-on-exec like every descriptor bpf(2) returns. mapType and flags are
// the BPF_MAP_TYPE_* and BPF_F_* values from golang.org/x/sys/unix. name is
// a label: it is cut to 15 bytes and characters the kernel refuses become
// '_'.
func MapCreate(mapType, keySize, valueSize, maxEntries, flags uint32, name string) (int, error) {
	attr := mapCreateAttr{
		mapType:    mapType,
		keySize:    keySize,
		valueSize:  valueSize,
		maxEntries: maxEntries,
		mapFlags:   flags,
		mapName:    newObjName(name),
	}
	fd, errno := bpf(unix.BPF_MAP_CREATE, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if errno != 0 {
		return -1, newError("map create", errno)
	}
	return int(fd), nil
}

// objInfoAttr is the BPF_OBJ_GET_INFO_BY_FD part of union bpf_attr.
type objInfoAttr struct {
	_       structs.HostLayout
	bpfFD   uint32
	infoLen uint32
	info    pointer
}

// objInfo fills info (a bpf_*_info layout of size bytes) for fd and returns
// how many bytes the kernel wrote, which tells which fields it knows.
func objInfo(op string, fd int, info unsafe.Pointer, size uintptr) (uint32, error) {
	attr := objInfoAttr{bpfFD: uint32(fd), infoLen: uint32(size), info: pointer{ptr: info}}
	if _, errno := bpf(unix.BPF_OBJ_GET_INFO_BY_FD, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); errno != 0 {
		return 0, newError(op, errno)
	}
	return attr.infoLen, nil
}

// bpfMapInfo is struct bpf_map_info up to map_extra (Linux 5.16).
type bpfMapInfo struct {
	_                     structs.HostLayout
	mapType               uint32
	id                    uint32
	keySize               uint32
	valueSize             uint32
	maxEntries            uint32
	mapFlags              uint32
	name                  objName
	ifindex               uint32
	btfVmlinuxValueTypeID uint32
	netnsDev              uint64
	netnsIno              uint64
	btfID                 uint32
	btfKeyTypeID          uint32
	btfValueTypeID        uint32
	btfVmlinuxID          uint32
	mapExtra              uint64
}

// MapInfo describes a map as the kernel reports it.
type MapInfo struct {
	// Type is the BPF_MAP_TYPE_* value.
	Type uint32
	// ID is the kernel-wide map id.
	ID uint32
	// KeySize and ValueSize are in bytes; ValueSize is per CPU for per-CPU maps.
	KeySize, ValueSize uint32
	// MaxEntries is the capacity given at creation.
	MaxEntries uint32
	// Flags holds the BPF_F_* creation flags.
	Flags uint32
	// Name is the object name, at most 15 bytes.
	Name string
	// IfIndex is the offload device, 0 for host maps.
	IfIndex uint32
	// BTFID, BTFKeyTypeID and BTFValueTypeID describe the key and value
	// types when the map was created with BTF; 0 otherwise.
	BTFID, BTFKeyTypeID, BTFValueTypeID uint32
	// MapExtra is the type-specific map_extra (bloom filter hash count).
	MapExtra uint64
}

// PerCPU reports whether the map keeps one value per possible CPU.
func (m MapInfo) PerCPU() bool { return IsPerCPU(m.Type) }

// IsPerCPU reports whether maps of mapType keep one value per possible CPU,
// laid out ValueStride bytes apart in lookups.
func IsPerCPU(mapType uint32) bool {
	switch mapType {
	case unix.BPF_MAP_TYPE_PERCPU_HASH, unix.BPF_MAP_TYPE_PERCPU_ARRAY,
		unix.BPF_MAP_TYPE_LRU_PERCPU_HASH, unix.BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
		return true
	}
	return false
}

// MapInfoByFD returns what the kernel knows about the map behind fd.
func MapInfoByFD(fd int) (MapInfo, error) {
	var raw bpfMapInfo
	if _, err := objInfo("map info", fd, unsafe.Pointer(&raw), unsafe.Sizeof(raw)); err != nil {
		return MapInfo{}, err
	}
	return MapInfo{
		Type:           raw.mapType,
		ID:             raw.id,
		KeySize:        raw.keySize,
		ValueSize:      raw.valueSize,
		MaxEntries:     raw.maxEntries,
		Flags:          raw.mapFlags,
		Name:           raw.name.String(),
		IfIndex:        raw.ifindex,
		BTFID:          raw.btfID,
		BTFKeyTypeID:   raw.btfKeyTypeID,
		BTFValueTypeID: raw.btfValueTypeID,
		MapExtra:       raw.mapExtra,
	}, nil
}

// ValueStride is the number of bytes one value occupies in lookup buffers:
// valueSize for ordinary maps and, for per-CPU maps, valueSize rounded up to
// 8 for each of possibleCPUs CPUs, as the kernel's bpf_map_value_size lays
// it out.
func ValueStride(valueSize int, perCPU bool, possibleCPUs int) int {
	if !perCPU {
		return valueSize
	}
	return (valueSize + 7) &^ 7 * possibleCPUs
}
