// Command kmalloc_callers is the seed article's Python script in Go: it
// counts kmalloc() call sites from the kmem:kmalloc tracepoint and prints
// them every second with their kernel function names.
//
//	# go run ./examples/kmalloc_callers -duration 5s
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sort"
	"time"

	"github.com/gobcc/gobcc/bcc"
)

const program = `
BPF_HASH(callers, u64, unsigned long);

TRACEPOINT_PROBE(kmem, kmalloc) {
    u64 ip = args->call_site;
    unsigned long *count;
    unsigned long c = 1;

    count = callers.lookup((u64 *)&ip);
    if (count != 0)
        c += *count;

    callers.update(&ip, &c);

    return 0;
}
`

func main() {
	duration := flag.Duration("duration", 0, "stop after this long (0: until Ctrl-C)")
	top := flag.Int("top", 10, "print only the N busiest call sites")
	flag.Parse()

	b, err := bcc.New(bcc.Options{Text: program})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	for _, w := range b.Warnings() {
		log.Print("warning: ", w)
	}
	callers, err := b.Table("callers")
	if err != nil {
		log.Fatal(err)
	}

	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt)
	var deadline <-chan time.Time
	if *duration > 0 {
		deadline = time.After(*duration)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-deadline:
			return
		case <-interrupt:
			return
		}
		items, err := callers.Items()
		if err != nil {
			log.Fatal(err)
		}
		// sorted(b["callers"].items()) in the article sorts by key; the
		// busiest call sites are more telling, so sort by count.
		sort.Slice(items, func(i, j int) bool { return items[i].Value.Uint64() > items[j].Value.Uint64() })
		if len(items) > *top {
			items = items[:*top]
		}
		for _, it := range items {
			fmt.Printf("%s %d\n", b.Ksym(it.Key.Uint64()), it.Value.Uint64())
		}
		fmt.Println()
	}
}
