/* Reached only through an -I flag in cflags' real-compile test. */
#define PROBE_FROM_INCLUDE 1
