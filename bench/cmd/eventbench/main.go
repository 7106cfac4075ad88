// Command events is the detailed event-delivery sweep of
// scripts/bench_events.sh: it runs eventbench trials at each of a list of
// target rates, through a perf buffer or a ring buffer, and prints one JSON
// line per trial, until two trials lose records or the producer cannot
// reach the rate. BCC Python's equivalent (scripts/bench_events_bcc.py) uses
// this binary as its producer (see eventbench.ProducerEnv). `make bench`
// measures the same thing as a climb (internal/benchcmp rows events/*).
//
//	events -transport perf|ring [-decode] [-pages N] [-ringbytes N] [-wakeup N] [-batch D] [-nospin] -rates R1,R2,... -dur D
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gobcc/gobcc/bench/internal/benchcmp/eventbench"
)

func main() {
	var cfg eventbench.Config
	dur := flag.Duration("dur", 3*time.Second, "trial length")
	flag.StringVar(&cfg.Transport, "transport", "perf", "perf or ring")
	flag.BoolVar(&cfg.Decode, "decode", false, "decode each record into a struct")
	flag.IntVar(&cfg.Pages, "pages", 8, "perf buffer pages per CPU")
	flag.IntVar(&cfg.RingBytes, "ringbytes", 64<<10, "ring buffer size")
	flag.IntVar(&cfg.Wakeup, "wakeup", 0, "perf buffer WakeupEvents (0: gobcc's default)")
	flag.DurationVar(&cfg.MaxBatchDelay, "batch", 0, "MaxBatchDelay (0: default, negative: no batching)")
	flag.BoolVar(&cfg.NoSpin, "nospin", false, "NoSpin: polls never wait on the CPU")
	rates := flag.String("rates", "50000,100000", "target rates to try, ascending")
	flag.IntVar(&cfg.ProducerCPU, "producer-cpu", 1, "CPU the producer runs on (-1: any)")
	flag.IntVar(&cfg.ConsumerCPU, "consumer-cpu", 0, "CPU this process runs on (-1: any)")
	flag.Parse()
	if err := sweep(cfg, *rates, *dur); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func sweep(cfg eventbench.Config, rates string, dur time.Duration) error {
	c, err := eventbench.NewConsumer(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	lossy := 0
	for _, r := range strings.Split(rates, ",") {
		rate, err := strconv.Atoi(r)
		if err != nil {
			return fmt.Errorf("-rates: %w", err)
		}
		res, err := c.Trial(rate, dur)
		if err != nil {
			return err
		}
		line, err := json.Marshal(res)
		if err != nil {
			return err
		}
		fmt.Println(string(line))
		if !res.ZeroLoss {
			lossy++
			if lossy == 2 {
				break
			}
		}
		if rate > 0 && res.Achieved < 0.9*float64(rate) {
			break // the producer cannot go faster
		}
	}
	return c.Close()
}
