// Exercises: attach_perf_event on the software CPU clock
// (PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, sample_period 1 ms) on every
// CPU for every process (a pid would name one thread, and Go's workload runs
// on any): the program runs as BPF_PROG_TYPE_PERF_EVENT and counts the
// runner's samples; how many is up to timing, so both must count some.
// Workload: 300 ms of busy loop.
// @workload busy=300
// @attach perf_event 1:0 on_sample 1000000
// @compare samples nonempty
#include <uapi/linux/bpf_perf_event.h>
BPF_HASH(samples, u32, u64);

int on_sample(struct bpf_perf_event_data *ctx) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (tgid != TEST_PID)
        return 0;
    samples.increment(tgid);
    return 0;
}
