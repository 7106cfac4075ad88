package bcc_test

import (
	"fmt"
	"log"

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/perf"
)

// Attach calls return a Link; closing it detaches just that attachment.
// The BPF object's Close detaches whatever is still attached.
func ExampleBPF_AttachTracepoint() {
	b, err := bcc.New(bcc.Options{Text: `int on_switch(void *ctx) { return 0; }`})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	l, err := b.AttachTracepoint("sched:sched_switch", "on_switch")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(l.Kind(), l.Target(), l.Function(), b.NumOpenTracepoints())
	if err := l.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(b.NumOpenTracepoints())
	// Output:
	// tracepoint sched:sched_switch on_switch 1
	// 0
}

// Optional settings come as one options struct with BCC's argument names.
func ExampleBPF_AttachPerfEvent() {
	b, err := bcc.New(bcc.Options{Text: `int on_sample(struct bpf_perf_event_data *ctx) { return 0; }`})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	cpu := 0
	if _, err := b.AttachPerfEvent(perf.TypeSoftware, perf.SWCPUClock, "on_sample",
		bcc.PerfEventOptions{SampleFreq: 99, CPU: &cpu}); err != nil {
		log.Fatal(err)
	}
}
