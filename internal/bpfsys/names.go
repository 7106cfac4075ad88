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
