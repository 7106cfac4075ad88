// A ~100-line program for compile+load benchmarks, in the style of BCC's
// tools: five tracepoints and a raw tracepoint, hashes keyed by structs, an
// array, a per-CPU array, a histogram, a perf buffer and the usual helpers.
// It only uses tracepoint arguments, so it loads with any kernel headers.
#include <linux/sched.h>

#define MAX_NAME 64

struct proc_key_t {
    u32 pid;
    u32 tgid;
    char comm[TASK_COMM_LEN];
};

struct open_val_t {
    u64 count;
    u64 errors;
    u64 first_ns;
    u64 last_ns;
};

struct start_t {
    u64 ts;
    char name[MAX_NAME];
};

struct exec_event_t {
    u32 pid;
    u32 old_pid;
    u64 ts;
    char comm[TASK_COMM_LEN];
};

BPF_HASH(opens, struct proc_key_t, struct open_val_t, 10240);
BPF_HASH(start, u64, struct start_t, 10240);
BPF_HISTOGRAM(open_lat, int, 64);
BPF_HISTOGRAM(alloc_sizes, int, 64);
BPF_HASH(switches, u32, u64, 10240);
BPF_ARRAY(totals, u64, 4);
BPF_PERCPU_ARRAY(wakeups, u64, 1);
BPF_PERF_OUTPUT(execs);

static inline void bump_total(int idx) {
    u64 *v = totals.lookup(&idx);
    if (v)
        __sync_fetch_and_add(v, 1);
}

TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
    u64 id = bpf_get_current_pid_tgid();
    struct start_t s = {};
    s.ts = bpf_ktime_get_ns();
    bpf_probe_read_user_str(&s.name, sizeof(s.name), args->filename);
    start.update(&id, &s);
    bump_total(0);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_openat) {
    u64 id = bpf_get_current_pid_tgid();
    struct start_t *s = start.lookup(&id);
    if (s == 0)
        return 0;
    u64 now = bpf_ktime_get_ns();
    open_lat.increment(bpf_log2l((now - s->ts) / 1000));

    struct proc_key_t key = {};
    key.pid = id;
    key.tgid = id >> 32;
    bpf_get_current_comm(&key.comm, sizeof(key.comm));
    struct open_val_t zero = {};
    zero.first_ns = now;
    struct open_val_t *val = opens.lookup_or_try_init(&key, &zero);
    if (val) {
        val->count++;
        if (args->ret < 0)
            val->errors++;
        val->last_ns = now;
    }
    start.delete(&id);
    return 0;
}

TRACEPOINT_PROBE(kmem, kmalloc) {
    alloc_sizes.increment(bpf_log2l(args->bytes_req));
    bump_total(1);
    return 0;
}

TRACEPOINT_PROBE(sched, sched_switch) {
    u32 pid = args->next_pid;
    switches.increment(pid);
    bump_total(2);
    return 0;
}

TRACEPOINT_PROBE(sched, sched_process_exec) {
    struct exec_event_t ev = {};
    ev.pid = args->pid;
    ev.old_pid = args->old_pid;
    ev.ts = bpf_ktime_get_ns();
    bpf_get_current_comm(&ev.comm, sizeof(ev.comm));
    execs.perf_submit(args, &ev, sizeof(ev));
    bump_total(3);
    return 0;
}

RAW_TRACEPOINT_PROBE(sched_wakeup) {
    int zero = 0;
    u64 *v = wakeups.lookup(&zero);
    if (v)
        (*v)++;
    return 0;
}
