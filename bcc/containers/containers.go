// Package containers is BCC's bcc.containers module: the C text BCC's
// tools prepend to filter events by container, through a pinned map of
// cgroup IDs (--cgroupmap) or of mount namespace IDs (--mntnsmap).
//
// A tool adds FilterText's result to its program and returns early from
// each probe when container_should_be_filtered() is true:
//
//	text, err := containers.FilterText(containers.Options{CgroupMap: "/sys/fs/bpf/cgroupset"})
//	prog := text + `
//	TRACEPOINT_PROBE(sched, sched_process_exec) {
//		if (container_should_be_filtered())
//			return 0;
//		...
//	}`
//
// The maps are created and pinned by whoever selects the containers (BCC's
// documentation uses bpftool): a hash of u64 cgroup ID to u64, and a hash
// of u64 mount namespace ID to u32, 1024 entries each; only the keys
// matter. CgroupID and MountNamespaceID give the keys.
package containers

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/cilium/ebpf/btf"
)

// Options name the pinned maps (BCC's args.cgroupmap and args.mntnsmap).
// An empty path disables that filter.
type Options struct {
	// CgroupMap is the bpffs path of a pinned hash map, u64 cgroup ID ->
	// u64: only tasks in a cgroup whose ID is a key pass.
	CgroupMap string
	// MntnsMap is the bpffs path of a pinned hash map, u64 mount namespace
	// ID -> u32: only tasks in a mount namespace whose ID is a key pass.
	MntnsMap string
}

// ErrBadPath means a map path cannot go into the C text.
var ErrBadPath = errors.New("containers: bad map path")

const cgroupFilterOff = `
static inline int _cgroup_filter() {
    return 0;
}
`

const cgroupFilter = `
BPF_TABLE_PINNED("hash", u64, u64, cgroupset, 1024, "CGROUP_PATH");

static inline int _cgroup_filter() {
    u64 cgroupid = bpf_get_current_cgroup_id();
    return cgroupset.lookup(&cgroupid) == NULL;
}
`

const mntnsFilterOff = `
static inline int _mntns_filter() {
    return 0;
}
`

// mntnsFilterHeaders is BCC's mount namespace filter: it reads
// task->nsproxy->mnt_ns->ns.inum with the kernel headers' layout.
const mntnsFilterHeaders = `
#include <linux/nsproxy.h>
#include <linux/mount.h>
#include <linux/ns_common.h>

/* struct mnt_namespace is private to the VFS (fs/mount.h); as BCC, declare
 * the part needed. */
struct mnt_namespace {
#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 11, 0)
    atomic_t count;
#endif
    struct ns_common ns;
};
#define MNT_NAMESPACE_DEFINED

BPF_TABLE_PINNED("hash", u64, u32, mount_ns_set, 1024, "MOUNT_NS_PATH");

static inline int _mntns_filter() {
    struct task_struct *current_task;
    struct nsproxy *nsproxy;
    struct mnt_namespace *mnt_ns;
    unsigned int inum;
    u64 ns_id;

    current_task = (struct task_struct *)bpf_get_current_task();

    if (bpf_probe_read_kernel(&nsproxy, sizeof(nsproxy), &current_task->nsproxy))
        return 0;

    if (bpf_probe_read_kernel(&mnt_ns, sizeof(mnt_ns), &nsproxy->mnt_ns))
        return 0;

    if (bpf_probe_read_kernel(&inum, sizeof(inum), &mnt_ns->ns.inum))
        return 0;

    ns_id =  (u64) inum;

    return mount_ns_set.lookup(&ns_id) == NULL;
}
`

// mntnsFilterBTF reads the same fields at the running kernel's offsets,
// taken from its BTF: the kernel headers BCC compiles against are often
// another kernel's (here Debian's 6.1 headers on a 6.18 kernel, where
// ns_common.inum moved from 16 to 24), and a wrong offset silently filters
// everything out.
const mntnsFilterBTF = `
#define MNT_NAMESPACE_DEFINED_BY_OFFSETS

BPF_TABLE_PINNED("hash", u64, u32, mount_ns_set, 1024, "MOUNT_NS_PATH");

static inline int _mntns_filter() {
    void *current_task, *nsproxy, *mnt_ns;
    unsigned int inum;
    u64 ns_id;

    current_task = (void *)bpf_get_current_task();

    if (bpf_probe_read_kernel(&nsproxy, sizeof(nsproxy), current_task + TASK_NSPROXY_OFF))
        return 0;

    if (bpf_probe_read_kernel(&mnt_ns, sizeof(mnt_ns), nsproxy + NSPROXY_MNT_NS_OFF))
        return 0;

    if (bpf_probe_read_kernel(&inum, sizeof(inum), mnt_ns + MNT_NS_INUM_OFF))
        return 0;

    ns_id =  (u64) inum;

    return mount_ns_set.lookup(&ns_id) == NULL;
}
`

const filterByContainers = `
static inline int container_should_be_filtered() {
    return _cgroup_filter() || _mntns_filter();
}
`

// FilterText returns the C text BCC's filter_by_containers(args) returns:
// _cgroup_filter(), _mntns_filter() and container_should_be_filtered(),
// with the pinned maps cgroupset and mount_ns_set when their paths are
// set. With no path set, container_should_be_filtered() is always 0.
//
// One difference from BCC: when the kernel has BTF (it does here), the
// mount namespace filter reads task_struct.nsproxy, nsproxy.mnt_ns and
// mnt_namespace.ns.inum at the running kernel's offsets instead of the
// kernel headers' (see MountNSFilterFromHeaders for BCC's text).
func FilterText(opts Options) (string, error) {
	var b strings.Builder
	cg, err := cgroupText(opts.CgroupMap)
	if err != nil {
		return "", err
	}
	b.WriteString(cg)
	if opts.MntnsMap == "" {
		b.WriteString(mntnsFilterOff)
	} else {
		if err := checkPath(opts.MntnsMap); err != nil {
			return "", err
		}
		offs, err := mntnsOffsets()
		if err != nil {
			b.WriteString(strings.ReplaceAll(mntnsFilterHeaders, "MOUNT_NS_PATH", opts.MntnsMap))
		} else {
			fmt.Fprintf(&b, "\n#define TASK_NSPROXY_OFF %d\n#define NSPROXY_MNT_NS_OFF %d\n#define MNT_NS_INUM_OFF %d\n",
				offs.taskNsproxy, offs.nsproxyMntNS, offs.mntNSInum)
			b.WriteString(strings.ReplaceAll(mntnsFilterBTF, "MOUNT_NS_PATH", opts.MntnsMap))
		}
	}
	b.WriteString(filterByContainers)
	return b.String(), nil
}

// MountNSFilterFromHeaders is FilterText exactly as BCC writes it: the
// mount namespace filter uses the kernel headers' struct layouts.
func MountNSFilterFromHeaders(opts Options) (string, error) {
	cg, err := cgroupText(opts.CgroupMap)
	if err != nil {
		return "", err
	}
	mnt := mntnsFilterOff
	if opts.MntnsMap != "" {
		if err := checkPath(opts.MntnsMap); err != nil {
			return "", err
		}
		mnt = strings.ReplaceAll(mntnsFilterHeaders, "MOUNT_NS_PATH", opts.MntnsMap)
	}
	return cg + mnt + filterByContainers, nil
}

func cgroupText(path string) (string, error) {
	if path == "" {
		return cgroupFilterOff, nil
	}
	if err := checkPath(path); err != nil {
		return "", err
	}
	return strings.ReplaceAll(cgroupFilter, "CGROUP_PATH", path), nil
}

// checkPath refuses paths that would break the C string literal.
func checkPath(p string) error {
	if strings.ContainsAny(p, "\"\\\n") {
		return fmt.Errorf("%w: %q", ErrBadPath, p)
	}
	return nil
}

type offsets struct{ taskNsproxy, nsproxyMntNS, mntNSInum uint32 }

// mntnsOffsets reads the three offsets the filter needs from kernel BTF.
func mntnsOffsets() (offsets, error) {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return offsets{}, err
	}
	var o offsets
	for _, f := range []struct {
		st, path string
		dst      *uint32
	}{
		{"task_struct", "nsproxy", &o.taskNsproxy},
		{"nsproxy", "mnt_ns", &o.nsproxyMntNS},
		{"mnt_namespace", "ns.inum", &o.mntNSInum},
	} {
		off, err := memberOffset(spec, f.st, f.path)
		if err != nil {
			return offsets{}, err
		}
		*f.dst = off
	}
	return o, nil
}

// memberOffset returns the byte offset of a dotted member path in struct
// name, looking into anonymous members too.
func memberOffset(spec *btf.Spec, name, path string) (uint32, error) {
	var st *btf.Struct
	if err := spec.TypeByName(name, &st); err != nil {
		return 0, fmt.Errorf("struct %s: %w", name, err)
	}
	var total uint32
	var members []btf.Member = st.Members
	for _, part := range strings.Split(path, ".") {
		off, typ, ok := findMember(members, part)
		if !ok {
			return 0, fmt.Errorf("struct %s has no member %s", name, path)
		}
		total += off
		switch t := btf.UnderlyingType(typ).(type) {
		case *btf.Struct:
			members = t.Members
		case *btf.Union:
			members = t.Members
		default:
			members = nil
		}
	}
	return total, nil
}

func findMember(members []btf.Member, name string) (uint32, btf.Type, bool) {
	for _, m := range members {
		if m.Name == name {
			return m.Offset.Bytes(), m.Type, true
		}
		if m.Name == "" {
			var inner []btf.Member
			switch t := btf.UnderlyingType(m.Type).(type) {
			case *btf.Struct:
				inner = t.Members
			case *btf.Union:
				inner = t.Members
			}
			if off, typ, ok := findMember(inner, name); ok {
				return m.Offset.Bytes() + off, typ, true
			}
		}
	}
	return 0, nil, false
}

// CgroupID returns the ID of the cgroup v2 directory path: the key of a
// cgroup map, what bpf_get_current_cgroup_id() returns for its tasks. It
// is the directory's inode number.
func CgroupID(path string) (uint64, error) {
	return inode(path)
}

// MountNamespaceID returns the mount namespace ID of process pid (0: the
// calling process): the key of a mount namespace map, the inode number of
// /proc/PID/ns/mnt.
func MountNamespaceID(pid int) (uint64, error) {
	p := "/proc/self/ns/mnt"
	if pid > 0 {
		p = fmt.Sprintf("/proc/%d/ns/mnt", pid)
	}
	return inode(p)
}

func inode(path string) (uint64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("containers: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("containers: %s: no inode", path)
	}
	return st.Ino, nil
}
