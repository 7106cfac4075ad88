// Command benchprobe is the gobcc side of the benchmark comparison: it runs
// one registered measurement once and prints its sample, so that every gobcc
// sample comes from a fresh process, as every BCC Python sample does. It
// imports only what the measurements need (no plotting), so its memory is
// that of a gobcc program. scripts/bench.sh builds and runs it.
//
//	benchprobe new/seed/helper src=testdata/kmalloc_callers.c mode=helper
package main

import (
	"os"

	"github.com/gobcc/gobcc/bench/internal/benchcmp"
)

func main() {
	os.Exit(benchcmp.ProbeMain(os.Args[1:], os.Stdout, os.Stderr))
}
