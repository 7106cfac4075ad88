package maps

import (
	"fmt"

	"github.com/gobcc/gobcc/internal/bpfsys"
)

// Type is a BPF map type (the kernel's enum bpf_map_type).
type Type int

// Map types, with the kernel's values.
const (
	Hash                Type = 1
	Array               Type = 2
	ProgArray           Type = 3
	PerfEventArray      Type = 4
	PercpuHash          Type = 5
	PercpuArray         Type = 6
	StackTrace          Type = 7
	CgroupArray         Type = 8
	LRUHash             Type = 9
	LRUPercpuHash       Type = 10
	LPMTrie             Type = 11
	ArrayOfMaps         Type = 12
	HashOfMaps          Type = 13
	Devmap              Type = 14
	Sockmap             Type = 15
	Cpumap              Type = 16
	Xskmap              Type = 17
	Sockhash            Type = 18
	CgroupStorage       Type = 19
	ReuseportSockarray  Type = 20
	PercpuCgroupStorage Type = 21
	Queue               Type = 22
	Stack               Type = 23
	SkStorage           Type = 24
	DevmapHash          Type = 25
	StructOps           Type = 26
	Ringbuf             Type = 27
	InodeStorage        Type = 28
	TaskStorage         Type = 29
)

var typeNames = map[Type]string{
	Hash: "hash", Array: "array", ProgArray: "prog_array", PerfEventArray: "perf_event_array",
	PercpuHash: "percpu_hash", PercpuArray: "percpu_array", StackTrace: "stack_trace",
	CgroupArray: "cgroup_array", LRUHash: "lru_hash", LRUPercpuHash: "lru_percpu_hash",
	LPMTrie: "lpm_trie", ArrayOfMaps: "array_of_maps", HashOfMaps: "hash_of_maps",
	Devmap: "devmap", Sockmap: "sockmap", Cpumap: "cpumap", Xskmap: "xskmap",
	Sockhash: "sockhash", CgroupStorage: "cgroup_storage", ReuseportSockarray: "reuseport_sockarray",
	PercpuCgroupStorage: "percpu_cgroup_storage", Queue: "queue", Stack: "stack",
	SkStorage: "sk_storage", DevmapHash: "devmap_hash", StructOps: "struct_ops",
	Ringbuf: "ringbuf", InodeStorage: "inode_storage", TaskStorage: "task_storage",
}

// String returns the kernel's lower-case name for the map type.
func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("map_type(%d)", int(t))
}

// PerCPU reports whether the map keeps one value per possible CPU. The
// list is bpfsys's, which sizes per-CPU values on the raw syscall paths.
func (t Type) PerCPU() bool { return bpfsys.IsPerCPU(uint32(t)) }

// IsArray reports whether keys are the indexes 0..MaxEntries-1.
func (t Type) IsArray() bool {
	switch t {
	case Array, PercpuArray, ProgArray, PerfEventArray, CgroupArray, ArrayOfMaps,
		Devmap, Cpumap, Xskmap, Sockmap:
		return true
	}
	return false
}

// zeroable reports whether entries cannot be removed and are zeroed
// instead (BCC's del and clear on arrays of numbers).
func (t Type) zeroable() bool { return t == Array || t == PercpuArray }

// HoldsHandles reports whether the map's values are file descriptors of
// other kernel objects (programs, maps, devices, sockets, perf events,
// cgroups). User space stores descriptors into them; where it may read
// them back the kernel answers with the object's ID, and empty slots are
// missing keys rather than zero values.
func (t Type) HoldsHandles() bool {
	switch t {
	case ProgArray, PerfEventArray, CgroupArray, ArrayOfMaps, HashOfMaps,
		Devmap, DevmapHash, Cpumap, Xskmap, Sockmap, Sockhash:
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
func (t Type) readableHandles() bool {
	switch t {
	case ProgArray, ArrayOfMaps, HashOfMaps, Devmap, DevmapHash, Cpumap:
		return true
	}
	return false
}
