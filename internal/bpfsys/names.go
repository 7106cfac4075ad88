package bpfsys

import "golang.org/x/sys/unix"

// progTypeNames are the kernel's lower-case names of enum bpf_prog_type
// (bpftool's), for the types BCC knows.
var progTypeNames = map[uint32]string{
	unix.BPF_PROG_TYPE_SOCKET_FILTER: "socket_filter", unix.BPF_PROG_TYPE_KPROBE: "kprobe",
	unix.BPF_PROG_TYPE_SCHED_CLS: "sched_cls", unix.BPF_PROG_TYPE_SCHED_ACT: "sched_act",
	unix.BPF_PROG_TYPE_TRACEPOINT: "tracepoint", unix.BPF_PROG_TYPE_XDP: "xdp",
	unix.BPF_PROG_TYPE_PERF_EVENT: "perf_event", unix.BPF_PROG_TYPE_CGROUP_SKB: "cgroup_skb",
	unix.BPF_PROG_TYPE_CGROUP_SOCK: "cgroup_sock", unix.BPF_PROG_TYPE_LWT_IN: "lwt_in",
	unix.BPF_PROG_TYPE_LWT_OUT: "lwt_out", unix.BPF_PROG_TYPE_LWT_XMIT: "lwt_xmit",
	unix.BPF_PROG_TYPE_SOCK_OPS: "sock_ops", unix.BPF_PROG_TYPE_SK_SKB: "sk_skb",
	unix.BPF_PROG_TYPE_CGROUP_DEVICE: "cgroup_device", unix.BPF_PROG_TYPE_SK_MSG: "sk_msg",
	unix.BPF_PROG_TYPE_RAW_TRACEPOINT: "raw_tracepoint", unix.BPF_PROG_TYPE_CGROUP_SOCK_ADDR: "cgroup_sock_addr",
	unix.BPF_PROG_TYPE_CGROUP_SYSCTL: "cgroup_sysctl", unix.BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE: "raw_tracepoint_writable",
	unix.BPF_PROG_TYPE_CGROUP_SOCKOPT: "cgroup_sockopt", unix.BPF_PROG_TYPE_TRACING: "tracing",
	unix.BPF_PROG_TYPE_LSM: "lsm",
}

// mapTypeNames are the kernel's lower-case names of enum bpf_map_type.
var mapTypeNames = map[uint32]string{
	unix.BPF_MAP_TYPE_HASH: "hash", unix.BPF_MAP_TYPE_ARRAY: "array", unix.BPF_MAP_TYPE_PROG_ARRAY: "prog_array",
	unix.BPF_MAP_TYPE_PERF_EVENT_ARRAY: "perf_event_array", unix.BPF_MAP_TYPE_PERCPU_HASH: "percpu_hash",
	unix.BPF_MAP_TYPE_PERCPU_ARRAY: "percpu_array", unix.BPF_MAP_TYPE_STACK_TRACE: "stack_trace",
	unix.BPF_MAP_TYPE_CGROUP_ARRAY: "cgroup_array", unix.BPF_MAP_TYPE_LRU_HASH: "lru_hash",
	unix.BPF_MAP_TYPE_LRU_PERCPU_HASH: "lru_percpu_hash", unix.BPF_MAP_TYPE_LPM_TRIE: "lpm_trie",
	unix.BPF_MAP_TYPE_ARRAY_OF_MAPS: "array_of_maps", unix.BPF_MAP_TYPE_HASH_OF_MAPS: "hash_of_maps",
	unix.BPF_MAP_TYPE_DEVMAP: "devmap", unix.BPF_MAP_TYPE_SOCKMAP: "sockmap", unix.BPF_MAP_TYPE_CPUMAP: "cpumap",
	unix.BPF_MAP_TYPE_XSKMAP: "xskmap", unix.BPF_MAP_TYPE_SOCKHASH: "sockhash",
	unix.BPF_MAP_TYPE_CGROUP_STORAGE: "cgroup_storage", unix.BPF_MAP_TYPE_REUSEPORT_SOCKARRAY: "reuseport_sockarray",
	unix.BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE: "percpu_cgroup_storage", unix.BPF_MAP_TYPE_QUEUE: "queue",
	unix.BPF_MAP_TYPE_STACK: "stack", unix.BPF_MAP_TYPE_SK_STORAGE: "sk_storage",
	unix.BPF_MAP_TYPE_DEVMAP_HASH: "devmap_hash", unix.BPF_MAP_TYPE_STRUCT_OPS: "struct_ops",
	unix.BPF_MAP_TYPE_RINGBUF: "ringbuf", unix.BPF_MAP_TYPE_INODE_STORAGE: "inode_storage",
	unix.BPF_MAP_TYPE_TASK_STORAGE: "task_storage",
}

// ProgTypeName is the kernel's name of a program type ("tracepoint").
func ProgTypeName(t uint32) (string, bool) {
	n, ok := progTypeNames[t]
	return n, ok
}

// ProgTypeByName finds a program type by its kernel name.
func ProgTypeByName(name string) (uint32, bool) {
	for t, n := range progTypeNames {
		if n == name {
			return t, true
		}
	}
	return 0, false
}

// MapTypeName is the kernel's name of a map type ("percpu_hash").
func MapTypeName(t uint32) (string, bool) {
	n, ok := mapTypeNames[t]
	return n, ok
}

// IsArrayMap reports whether the keys of maps of mapType are the indexes
// 0..max_entries-1.
func IsArrayMap(mapType uint32) bool {
	switch mapType {
	case unix.BPF_MAP_TYPE_ARRAY, unix.BPF_MAP_TYPE_PERCPU_ARRAY, unix.BPF_MAP_TYPE_PROG_ARRAY,
		unix.BPF_MAP_TYPE_PERF_EVENT_ARRAY, unix.BPF_MAP_TYPE_CGROUP_ARRAY, unix.BPF_MAP_TYPE_ARRAY_OF_MAPS,
		unix.BPF_MAP_TYPE_DEVMAP, unix.BPF_MAP_TYPE_CPUMAP, unix.BPF_MAP_TYPE_XSKMAP, unix.BPF_MAP_TYPE_SOCKMAP:
		return true
	}
	return false
}
