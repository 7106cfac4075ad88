// The target of the USDT tests (bcc and bcc/usdt): it fires gobcc:tick(i,
// i*3) n times when told to go, but only while its semaphore is set, and
// gobcc:plain(i) always; it reports the semaphore's value and how many
// ticks fired. Built with -DNO_SEMAPHORES its probes have no semaphores and
// always fire.
#ifndef NO_SEMAPHORES
#define _SDT_HAS_SEMAPHORES 1
#endif
#include <sys/sdt.h>
#include <stdio.h>
#include <stdlib.h>
#ifndef NO_SEMAPHORES
__extension__ unsigned short gobcc_tick_semaphore __attribute__((unused)) __attribute__((section(".probes")));
__extension__ unsigned short gobcc_plain_semaphore __attribute__((unused)) __attribute__((section(".probes")));
#else
#define gobcc_tick_semaphore 1
#endif
int main(int argc, char **argv) {
	int n = atoi(argv[1]);
	char line[16];
	while (fgets(line, sizeof line, stdin)) {
		int fired = 0;
		unsigned sem = gobcc_tick_semaphore;
		for (long i = 1; i <= n; i++) {
			if (gobcc_tick_semaphore) {
				STAP_PROBE2(gobcc, tick, i, i * 3);
				fired++;
			}
			STAP_PROBE1(gobcc, plain, i);
		}
		printf("sem=%u fired=%d\n", sem, fired);
		fflush(stdout);
	}
	return 0;
}
