// Exercises: signed leaves of every width (s8 as "signed char", s16, s32,
// s64) holding negative values. BCC Python has no ctypes mapping for
// "signed char" and cannot read this table; gobcc decodes it (a deliberate
// difference the test checks).
// Workload: 3 getpid() calls.
// @workload getpid=3
// @diff signed-char
struct signed_t {
    signed char c;
    short s;
    int i;
    long long l;
};
BPF_ARRAY(neg, struct signed_t, 1);
BPF_ARRAY(neg32, int, 2);

TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID)
        return 0;
    int k = 0;
    struct signed_t *v = neg.lookup(&k);
    if (v) {
        v->c -= 1;
        v->s -= 300;
        v->i -= 70000;
        v->l -= 5000000000LL;
    }
    int *w = neg32.lookup(&k);
    if (w)
        *w -= 2;
    return 0;
}
