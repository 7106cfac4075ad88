// Command exportprobe is benchprobe for the exporter rows
// (export/scrape100k/*): it runs one of them once and prints its sample.
// It is a separate binary because the exporter links net/http and
// client_golang, which would otherwise grow every benchprobe process and
// with it the memory rows of plain gobcc programs. scripts/bench.sh builds
// it beside benchprobe; the runner picks it through Measurement.Probe.
//
//	exportprobe export/scrape100k/wall entries=100000 scrapes=5 what=wall
package main

import (
	"os"

	"github.com/gobcc/gobcc/bench/internal/benchcmp"
	_ "github.com/gobcc/gobcc/bench/internal/benchcmp/exportbench" // registers the exporter rows
)

func main() {
	os.Exit(benchcmp.ProbeMain(os.Args[1:], os.Stdout, os.Stderr))
}
