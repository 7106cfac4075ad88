// stalls: how long a thread that never sleeps goes without running.
// It spins on one CPU reading the clock and counts gaps between reads,
// the time the CPU was taken away (by the hypervisor, interrupts or other
// threads). No event reader can be faster than these gaps allow: a ring
// must hold what arrives during the longest of them. Used by
// docs/benchmarks-events.md.
//
// usage: stalls CPU SECONDS   (build: gcc -O2 -o stalls stalls.c)
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long now_ns(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000L + t.tv_nsec;
}

int main(int argc, char **argv) {
	if (argc != 3) {
		fprintf(stderr, "usage: stalls CPU SECONDS\n");
		return 2;
	}
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(atoi(argv[1]), &set);
	if (sched_setaffinity(0, sizeof set, &set) != 0) {
		perror("sched_setaffinity");
		return 1;
	}
	static const long limits_us[] = {100, 500, 1000, 2000, 3000, 5000};
	long counts[6] = {0};
	long end = now_ns() + atol(argv[2]) * 1000000000L, last = now_ns(), longest = 0;
	while (last < end) {
		long t = now_ns(), gap = t - last;
		last = t;
		if (gap > longest)
			longest = gap;
		for (int i = 0; i < 6; i++)
			if (gap > limits_us[i] * 1000)
				counts[i]++;
	}
	printf("{\"cpu\": %s, \"seconds\": %s, \"longest_us\": %ld", argv[1], argv[2], longest / 1000);
	for (int i = 0; i < 6; i++)
		printf(", \"over_%ld_us\": %ld", limits_us[i], counts[i]);
	printf("}\n");
	return 0;
}
