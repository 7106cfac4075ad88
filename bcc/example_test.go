package bcc_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"syscall"
	"time"

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/cflags"
)

// The examples trace getppid calls of this process only: TGID is defined
// from Go, so other processes calling getppid do not disturb them.
const exampleEvents = `
struct event_t { u32 pid; u32 seq; };
BPF_PERF_OUTPUT(perf_events);
BPF_RINGBUF_OUTPUT(ring_events, 1);
BPF_ARRAY(calls, u64, 1);
TRACEPOINT_PROBE(syscalls, sys_enter_getppid) {
    if (bpf_get_current_pid_tgid() >> 32 != TGID)
        return 0;
    int zero = 0;
    u64 *n = calls.lookup(&zero);
    if (!n)
        return 0;
    struct event_t ev = {.pid = TGID, .seq = __sync_fetch_and_add(n, 1)};
    perf_events.perf_submit(args, &ev, sizeof(ev));
    ring_events.ringbuf_output(&ev, sizeof(ev), 0);
    return 0;
}
`

// exampleEvent is struct event_t in Go.
type exampleEvent struct {
	PID uint32
	Seq uint32
}

func loadExample() *bcc.BPF {
	b, err := bcc.New(bcc.Options{
		Text:   exampleEvents,
		CFlags: []string{cflags.Define("TGID", os.Getpid())},
	})
	if err != nil {
		log.Fatal(err) // a *bcc.CompileError or *bcc.VerifierError says why
	}
	return b
}

// Compile, load and attach a program, then read a table it fills.
func ExampleNew() {
	b := loadExample() // TRACEPOINT_PROBE attaches itself
	defer b.Close()
	for i := 0; i < 3; i++ {
		syscall.Getppid()
	}
	calls, err := b.Table("calls")
	if err != nil {
		log.Fatal(err)
	}
	n, err := calls.Lookup(0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("getppid calls:", n.Uint64())
	// Output: getppid calls: 3
}

// Read a BPF_PERF_OUTPUT table with a callback, as BCC's open_perf_buffer
// and perf_buffer_poll do, decoding each record into a Go struct.
func ExampleTable_OpenPerfBuffer() {
	b := loadExample()
	defer b.Close()
	table, err := b.Table("perf_events")
	if err != nil {
		log.Fatal(err)
	}
	dec, err := bcc.EventOf[exampleEvent](table) // checks the size against the C struct
	if err != nil {
		log.Fatal(err)
	}
	received := 0
	_, err = table.OpenPerfBuffer(func(cpu int, data []byte) {
		ev, err := dec.Decode(data)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("event", ev.Seq, "from this process:", ev.PID == uint32(os.Getpid()))
		received++
	}, bcc.PerfBufferOptions{LostCallback: func(n uint64) { log.Printf("lost %d events", n) }})
	if err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		syscall.Getppid()
	}
	for received < 3 {
		if _, err := b.PerfBufferPoll(time.Second); err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// event 0 from this process: true
	// event 1 from this process: true
	// event 2 from this process: true
}

// Read a BPF_RINGBUF_OUTPUT table, as BCC's open_ring_buffer and
// ring_buffer_poll do; Table.Event decodes with the C struct's layout.
func ExampleTable_OpenRingBuffer() {
	b := loadExample()
	defer b.Close()
	table, err := b.Table("ring_events")
	if err != nil {
		log.Fatal(err)
	}
	received := 0
	_, err = table.OpenRingBuffer(func(data []byte) {
		ev, err := table.Event(data)
		if err != nil {
			log.Fatal(err)
		}
		seq, _ := ev.Field("seq")
		fmt.Println("event", seq.Uint64())
		received++
	})
	if err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		syscall.Getppid()
	}
	for received < 2 {
		if _, err := b.RingBufferPoll(time.Second); err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// event 0
	// event 1
}

// Events reads a perf or ring buffer table as an iterator; the loop owns
// each record's bytes, and leaving it frees the reader.
func ExampleTable_Events() {
	b := loadExample()
	defer b.Close()
	table, err := b.Table("ring_events")
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		// Another goroutine makes the events: the loop below waits.
		time.Sleep(100 * time.Millisecond)
		syscall.Getppid()
		syscall.Getppid()
	}()
	n := 0
	for ev, err := range table.Events(ctx, bcc.PerfBufferOptions{}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(len(ev.Data), "bytes")
		if n++; n == 2 {
			break
		}
	}
	// Output:
	// 8 bytes
	// 8 bytes
}

// A histogram filled from Go prints as BCC's print_log2_hist does.
func ExampleTable_PrintLog2Hist() {
	b, err := bcc.New(bcc.Options{Text: `BPF_HISTOGRAM(dist);`})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	dist, err := b.Table("dist")
	if err != nil {
		log.Fatal(err)
	}
	// bpf_log2l(v) is floor(log2 v) + 1, so slot k counts the values from
	// 2^(k-1) to 2^k - 1 (slot 1: 0 and 1).
	for slot, count := range map[int]int{1: 2, 3: 10, 4: 5} {
		if err := dist.Update(slot, count); err != nil {
			log.Fatal(err)
		}
	}
	if err := dist.PrintLog2Hist(os.Stdout, "usecs"); err != nil {
		log.Fatal(err)
	}
	// Output:
	//      usecs               : count     distribution
	//          0 -> 1          : 2        |********                                |
	//          2 -> 3          : 0        |                                        |
	//          4 -> 7          : 10       |****************************************|
	//          8 -> 15         : 5        |********************                    |
}
