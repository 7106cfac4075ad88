// Exercises: BPF_RINGBUF_OUTPUT with ringbuf_reserve/submit, read with
// open_ring_buffer / ring_buffer_poll: one record per
// write() with its size and sequence number.
// Workload: 10 write() calls to fd 97.
// @workload write=10
// @ringbuf records 10
struct rec_t {
    u64 seq;
    u64 size;
};
BPF_RINGBUF_OUTPUT(records, 8);
BPF_ARRAY(seqs, u64, 1);

TRACEPOINT_PROBE(syscalls, sys_enter_write) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID || args->fd != 97)
        return 0;
    int k = 0;
    u64 *n = seqs.lookup(&k);
    if (!n)
        return 0;
    struct rec_t *r = records.ringbuf_reserve(sizeof(struct rec_t));
    if (!r)
        return 0;
    r->seq = *n;
    r->size = args->count;
    *n += 1;
    records.ringbuf_submit(r, 0);
    return 0;
}
