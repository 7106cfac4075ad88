// Exercises: struct key and struct leaf with padding, a nested array and a
// union (the layouts libbcc describes in its JSON), filled from write().
// Workload: 20 write() calls to fd 97.
// @workload write=20
struct wkey_t {
    u8 bucket;
    u32 fd;
};
struct wleaf_t {
    u16 count;
    u64 bytes;
    u32 last[3];
    union {
        u32 as_u32;
        u8 as_bytes[4];
    } tag;
};
BPF_HASH(writes, struct wkey_t, struct wleaf_t);

TRACEPOINT_PROBE(syscalls, sys_enter_write) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID || args->fd != 97)
        return 0;
    struct wkey_t key = {};
    key.bucket = args->count >= 2000;
    key.fd = args->fd;
    struct wleaf_t zero = {};
    struct wleaf_t *v = writes.lookup_or_try_init(&key, &zero);
    if (!v)
        return 0;
    u16 c = v->count;
    /* a constant index: the verifier refuses c % 3 as an offset */
    if (c % 3 == 0)
        v->last[0] = args->count;
    else if (c % 3 == 1)
        v->last[1] = args->count;
    else
        v->last[2] = args->count;
    v->count = c + 1;
    v->bytes += args->count;
    v->tag.as_u32 = 0x11223344;
    return 0;
}
