// Command biolatency summarizes block device I/O latency as a histogram:
// BCC's biolatency (tools/biolatency.py) in Go, with its options and
// output.
//
//	# biolatency              # summarize block I/O latency as a histogram
//	# biolatency 1 10         # print 1 second summaries, 10 times
//	# biolatency -mT 1        # 1s summaries, milliseconds, and timestamps
//	# biolatency -Q           # include OS queued time in I/O time
//	# biolatency -D           # show each disk device separately
//	# biolatency -e           # show extension summary (total, average)
//	# biolatency -d vda       # trace vda only
//	# biolatency -j           # print a JSON histogram per interval
//
// BCC attaches kprobes to blk_mq_start_request and blk_account_io_done and
// keys requests by their struct request pointer. This port uses the block
// tracepoints instead, which need no kprobes: block_rq_issue (or
// block_io_start with -Q) starts a request and block_rq_complete ends it,
// matched by device and sector, the fields both carry. A disk is known by
// its device number, named from /sys/dev/block. BCC's -F (per request flags,
// read from struct request) is not offered.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/bcc"
)

const text = `
// The device is a u64, not the tracepoint's u32 dev_t: a key with padding
// would hash the padding's stack garbage, and lookups would miss.
typedef struct start_key {
    u64 dev;
    u64 sector;
} start_key_t;

typedef struct disk_key {
    u32 dev;
    u64 slot;
} disk_key_t;

typedef struct ext_val {
    u64 total;
    u64 count;
} ext_val_t;

// LRU: a request that completes under another sector than it was issued
// with leaves its entry behind; BCC keys by the request's address, which
// the kernel reuses, where device and sector may never come back.
BPF_TABLE("lru_hash", start_key_t, u64, start, 10240);
STORAGE

// time block I/O
TRACEPOINT_PROBE(block, START_EVENT)
{
    DISK_FILTER

    start_key_t skey = {.dev = args->dev, .sector = args->sector};
    u64 ts = bpf_ktime_get_ns();
    start.update(&skey, &ts);
    return 0;
}

// output
TRACEPOINT_PROBE(block, block_rq_complete)
{
    u64 *tsp, delta;
    start_key_t skey = {.dev = args->dev, .sector = args->sector};

    // fetch timestamp and calculate delta
    tsp = start.lookup(&skey);
    if (tsp == 0) {
        return 0;   // missed issue
    }
    delta = bpf_ktime_get_ns() - *tsp;

    FACTOR

    // store as histogram
    STORE

    start.delete(&skey);
    return 0;
}
`

// diskName names a device number as the kernel does ("vda"), from
// /sys/dev/block/MAJOR:MINOR; BCC's disk_print prints "<unknown>" when
// there is no name.
func diskName(dev uint64) string {
	// The tracepoints carry the kernel's dev_t: major << 20 | minor.
	link, err := os.Readlink(fmt.Sprintf("/sys/dev/block/%d:%d", dev>>20, dev&0xfffff))
	if err != nil {
		return "<unknown>"
	}
	return filepath.Base(link)
}

func main() {
	// Ctrl-C is handled from the start: a test (or a user) may press it
	// as soon as the "Tracing..." line appears.
	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt)
	var (
		timestamp, queued, ms, disks, extension, jsonOut, ebpf bool
		disk                                                   string
	)
	boolFlag := func(p *bool, short, long, usage string) {
		flag.BoolVar(p, short, false, usage)
		flag.BoolVar(p, long, false, usage)
	}
	boolFlag(&timestamp, "T", "timestamp", "include timestamp on output")
	boolFlag(&queued, "Q", "queued", "include OS queued time in I/O time")
	boolFlag(&ms, "m", "milliseconds", "millisecond histogram")
	boolFlag(&disks, "D", "disks", "print a histogram per disk device")
	boolFlag(&extension, "e", "extension", "summarize average/total value")
	boolFlag(&jsonOut, "j", "json", "json output")
	flag.StringVar(&disk, "d", "", "Trace this disk only")
	flag.StringVar(&disk, "disk", "", "Trace this disk only")
	flag.BoolVar(&ebpf, "ebpf", false, "print the BPF program and exit")
	flag.Parse()
	log.SetFlags(0)
	interval, count := 99999999, 99999999
	for i, p := range []*int{&interval, &count} {
		if flag.NArg() > i {
			n, err := strconv.Atoi(flag.Arg(i))
			if err != nil || n <= 0 {
				log.Fatalf("invalid argument %q", flag.Arg(i))
			}
			*p = n
		}
	}
	countdown := count

	program := text
	label := "usecs"
	if ms {
		program = strings.ReplaceAll(program, "FACTOR", "delta /= 1000000;")
		label = "msecs"
	} else {
		program = strings.ReplaceAll(program, "FACTOR", "delta /= 1000;")
	}
	storage, store := "", ""
	if disks {
		storage += "BPF_HISTOGRAM(dist, disk_key_t);"
		store += "disk_key_t key = {.dev = args->dev, .slot = bpf_log2l(delta)};\n    dist.atomic_increment(key);"
	} else {
		storage += "BPF_HISTOGRAM(dist);"
		store += "dist.atomic_increment(bpf_log2l(delta));"
	}
	if disk != "" {
		diskPath := filepath.Join("/dev", disk)
		var st unix.Stat_t
		if err := unix.Stat(diskPath, &st); err != nil {
			fmt.Printf("no such disk '%s'\n", disk)
			os.Exit(1)
		}
		dev := uint64(unix.Major(st.Rdev))<<20 | uint64(unix.Minor(st.Rdev))
		program = strings.ReplaceAll(program, "DISK_FILTER", fmt.Sprintf("if (args->dev != %d) { return 0; }", dev))
	} else {
		program = strings.ReplaceAll(program, "DISK_FILTER", "")
	}
	if extension {
		storage += "\nBPF_ARRAY(extension, ext_val_t, 1);"
		store += `
    u32 index = 0;
    ext_val_t *ext_val = extension.lookup(&index);
    if (ext_val) {
        lock_xadd(&ext_val->total, delta);
        lock_xadd(&ext_val->count, 1);
    }`
	}
	program = strings.ReplaceAll(program, "STORAGE", storage)
	program = strings.ReplaceAll(program, "STORE", store)
	startEvent := "block_rq_issue"
	if queued {
		startEvent = "block_io_start"
	}
	program = strings.ReplaceAll(program, "START_EVENT", startEvent)
	if ebpf {
		fmt.Println(program)
		return
	}

	b, err := bcc.New(bcc.Options{Text: program})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	if !jsonOut {
		fmt.Println("Tracing block device I/O... Hit Ctrl-C to end.")
	} else {
		// BCC prints nothing; standard output stays JSON only.
		fmt.Fprintln(os.Stderr, "Tracing block device I/O... Hit Ctrl-C to end.")
	}
	dist, err := b.Table("dist")
	if err != nil {
		log.Fatal(err)
	}
	var ext *bcc.Table
	if extension {
		if ext, err = b.Table("extension"); err != nil {
			log.Fatal(err)
		}
	}
	diskPrint := func(bucket any) string {
		if dev, ok := bucket.(uint64); ok {
			return diskName(dev)
		}
		return fmt.Sprint(bucket)
	}
	opts := bcc.HistOptions{SectionHeader: "disk", SectionPrintFn: diskPrint}

	for {
		exiting := false
		select {
		case <-time.After(time.Duration(interval) * time.Second):
		case <-interrupt:
			exiting = true
		}
		fmt.Println()
		if timestamp {
			fmt.Printf("%-8s\n", time.Now().Format("15:04:05"))
		}
		if jsonOut {
			err = dist.PrintJSONHist(os.Stdout, label, opts)
		} else {
			err = dist.PrintLog2Hist(os.Stdout, label, opts)
		}
		if err != nil {
			log.Fatal(err)
		}
		if ext != nil && !jsonOut {
			v, err := ext.Lookup(uint32(0))
			if err != nil {
				log.Fatal(err)
			}
			total, _ := v.Field("total")
			cnt, _ := v.Field("count")
			if cnt.Uint64() > 0 {
				fmt.Printf("\navg = %d %s, total: %d %s, count: %d\n\n",
					total.Uint64()/cnt.Uint64(), label, total.Uint64(), label, cnt.Uint64())
			}
			if err := ext.Clear(); err != nil {
				log.Fatal(err)
			}
		}
		if err := dist.Clear(); err != nil {
			log.Fatal(err)
		}
		countdown--
		if exiting || countdown == 0 {
			return
		}
	}
}
