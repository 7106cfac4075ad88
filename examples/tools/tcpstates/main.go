// Command tcpstates traces TCP session state changes and how long each
// state lasted: BCC's tcpstates (tools/tcpstates.py) in Go, with its
// options and output, from the sock:inet_sock_set_state tracepoint.
//
//	# tcpstates             # trace all TCP state changes
//	# tcpstates -t          # include timestamp column
//	# tcpstates -T          # include time column (HH:MM:SS)
//	# tcpstates -w          # wider columns (fit IPv6)
//	# tcpstates -s          # CSV output
//	# tcpstates -L 80       # only trace local port 80
//	# tcpstates -D 80,81    # only trace remote ports 80 and 81
//	# tcpstates -4          # trace IPv4 family only
//
// BCC's -Y (log to the systemd journal) is not offered.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/bcc/tcp"
)

const text = `
#include <uapi/linux/ptrace.h>
#include <linux/tcp.h>
#include <net/sock.h>
#include <bcc/proto.h>

BPF_HASH(last, struct sock *, u64);

// separate data structs for ipv4 and ipv6
struct ipv4_data_t {
    u64 ts_us;
    u64 skaddr;
    u32 saddr;
    u32 daddr;
    u64 span_us;
    u32 pid;
    u32 ports;
    u32 oldstate;
    u32 newstate;
    char task[TASK_COMM_LEN];
};
BPF_PERF_OUTPUT(ipv4_events);

struct ipv6_data_t {
    u64 ts_us;
    u64 skaddr;
    unsigned __int128 saddr;
    unsigned __int128 daddr;
    u64 span_us;
    u32 pid;
    u32 ports;
    u32 oldstate;
    u32 newstate;
    char task[TASK_COMM_LEN];
};
BPF_PERF_OUTPUT(ipv6_events);

TRACEPOINT_PROBE(sock, inet_sock_set_state)
{
    if (args->protocol != IPPROTO_TCP)
        return 0;

    u32 pid = bpf_get_current_pid_tgid() >> 32;
    // sk is used as a UUID
    struct sock *sk = (struct sock *)args->skaddr;

    // lport is either used in a filter here, or later
    u16 lport = args->sport;
    FILTER_LPORT

    // dport is either used in a filter here, or later
    u16 dport = args->dport;
    FILTER_DPORT

    // calculate delta
    u64 *tsp, delta_us;
    tsp = last.lookup(&sk);
    if (tsp == 0)
        delta_us = 0;
    else
        delta_us = (bpf_ktime_get_ns() - *tsp) / 1000;

    u16 family = args->family;
    FILTER_FAMILY

    if (args->family == AF_INET) {
        struct ipv4_data_t data4 = {
            .span_us = delta_us,
            .oldstate = args->oldstate,
            .newstate = args->newstate };
        data4.skaddr = (u64)args->skaddr;
        data4.ts_us = bpf_ktime_get_ns() / 1000;
        __builtin_memcpy(&data4.saddr, args->saddr, sizeof(data4.saddr));
        __builtin_memcpy(&data4.daddr, args->daddr, sizeof(data4.daddr));
        // a workaround until data4 compiles with separate lport/dport
        data4.ports = dport + ((0ULL + lport) << 16);
        data4.pid = pid;

        bpf_get_current_comm(&data4.task, sizeof(data4.task));
        ipv4_events.perf_submit(args, &data4, sizeof(data4));

    } else /* 6 */ {
        struct ipv6_data_t data6 = {
            .span_us = delta_us,
            .oldstate = args->oldstate,
            .newstate = args->newstate };
        data6.skaddr = (u64)args->skaddr;
        data6.ts_us = bpf_ktime_get_ns() / 1000;
        __builtin_memcpy(&data6.saddr, args->saddr_v6, sizeof(data6.saddr));
        __builtin_memcpy(&data6.daddr, args->daddr_v6, sizeof(data6.daddr));
        // a workaround until data6 compiles with separate lport/dport
        data6.ports = dport + ((0ULL + lport) << 16);
        data6.pid = pid;
        bpf_get_current_comm(&data6.task, sizeof(data6.task));
        ipv6_events.perf_submit(args, &data6, sizeof(data6));
    }

    if (args->newstate == TCP_CLOSE) {
        last.delete(&sk);
    } else {
        u64 ts = bpf_ktime_get_ns();
        last.update(&sk, &ts);
    }

    return 0;
}
`

// portFilter is BCC's filter for -L and -D: drop the socket unless its
// port is one of the list.
func portFilter(list, varName string) (string, error) {
	var conds []string
	for _, p := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return "", fmt.Errorf("invalid port %q", p)
		}
		conds = append(conds, fmt.Sprintf("%s != %d", varName, n))
	}
	return fmt.Sprintf("if (%s) { last.delete(&sk); return 0; }", strings.Join(conds, " && ")), nil
}

func main() {
	// Ctrl-C is handled from the start: a test (or a user) may press it
	// as soon as the "Tracing..." line appears.
	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt)
	var (
		showTime, timestamp, wide, csv, ipv4, ipv6, ebpf bool
		localport, remoteport                            string
	)
	boolFlag := func(p *bool, short, long, usage string) {
		flag.BoolVar(p, short, false, usage)
		flag.BoolVar(p, long, false, usage)
	}
	boolFlag(&showTime, "T", "time", "include time column on output (HH:MM:SS)")
	boolFlag(&timestamp, "t", "timestamp", "include timestamp on output (seconds)")
	boolFlag(&wide, "w", "wide", "wide column output (fits IPv6 addresses)")
	boolFlag(&csv, "s", "csv", "comma separated values output")
	flag.StringVar(&localport, "L", "", "comma-separated list of local ports to trace.")
	flag.StringVar(&localport, "localport", "", "comma-separated list of local ports to trace.")
	flag.StringVar(&remoteport, "D", "", "comma-separated list of remote ports to trace.")
	flag.StringVar(&remoteport, "remoteport", "", "comma-separated list of remote ports to trace.")
	boolFlag(&ipv4, "4", "ipv4", "trace IPv4 family only")
	boolFlag(&ipv6, "6", "ipv6", "trace IPv6 family only")
	flag.BoolVar(&ebpf, "ebpf", false, "print the BPF program and exit")
	flag.Parse()
	log.SetFlags(0)
	if ipv4 && ipv6 {
		log.Fatal("argument -6/--ipv6: not allowed with argument -4/--ipv4")
	}

	program := text
	for _, f := range []struct{ list, name, macro string }{
		{remoteport, "dport", "FILTER_DPORT"},
		{localport, "lport", "FILTER_LPORT"},
	} {
		if f.list == "" {
			continue
		}
		code, err := portFilter(f.list, f.name)
		if err != nil {
			log.Fatal(err)
		}
		program = strings.ReplaceAll(program, f.macro, code)
	}
	if ipv4 {
		program = strings.ReplaceAll(program, "FILTER_FAMILY", "if (family != AF_INET) { return 0; }")
	} else if ipv6 {
		program = strings.ReplaceAll(program, "FILTER_FAMILY", "if (family != AF_INET6) { return 0; }")
	}
	for _, m := range []string{"FILTER_FAMILY", "FILTER_DPORT", "FILTER_LPORT"} {
		program = strings.ReplaceAll(program, m, "")
	}
	if ebpf {
		fmt.Println(program)
		return
	}

	// Setup output formats: the default fits in 80 columns.
	headerString := "%-16s %-5s %-10.10s %s%-15s %-5s %-15s %-5s %-11s -> %-11s %s\n"
	formatString := "%-16x %-5d %-10.10s %s%-15s %-5d %-15s %-5d %-11s -> %-11s %.3f\n"
	if wide {
		headerString = "%-16s %-5s %-16.16s %-2s %-26s %-5s %-26s %-5s %-11s -> %-11s %s\n"
		formatString = "%-16x %-5d %-16.16s %-2s %-26s %-5d %-26s %-5d %-11s -> %-11s %.3f\n"
	}
	if csv {
		headerString = "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n"
		formatString = "%x,%d,%s,%s,%s,%d,%s,%d,%s,%s,%.3f\n"
	}

	b, err := bcc.New(bcc.Options{Text: program})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	var startTS uint64
	printEvent := func(table *bcc.Table, family string) func(int, []byte) {
		return func(cpu int, data []byte) {
			event, err := table.Event(data)
			if err != nil {
				log.Print(err)
				return
			}
			field := func(n string) bcc.Value { v, _ := event.Field(n); return v }
			if showTime {
				if csv {
					fmt.Printf("%s,", time.Now().Format("15:04:05"))
				} else {
					fmt.Printf("%-8s ", time.Now().Format("15:04:05"))
				}
			}
			if timestamp {
				ts := field("ts_us").Uint64()
				if startTS == 0 {
					startTS = ts
				}
				delta := float64(ts-startTS) / 1e6
				if csv {
					fmt.Printf("%.6f,", delta)
				} else {
					fmt.Printf("%-9.6f ", delta)
				}
			}
			ipCol := ""
			if wide || csv {
				ipCol = family
			}
			ports := field("ports").Uint64()
			fmt.Printf(formatString, field("skaddr").Uint64(), field("pid").Uint64(),
				cString(field("task").Bytes()), ipCol,
				net.IP(field("saddr").Bytes()), ports>>16,
				net.IP(field("daddr").Bytes()), ports&0xffff,
				tcp.StateName(int(field("oldstate").Uint64())), tcp.StateName(int(field("newstate").Uint64())),
				float64(field("span_us").Uint64())/1000)
		}
	}

	// read events
	for _, t := range []struct{ table, family string }{{"ipv4_events", "4"}, {"ipv6_events", "6"}} {
		table, err := b.Table(t.table)
		if err != nil {
			log.Fatal(err)
		}
		if _, err := table.OpenPerfBuffer(printEvent(table, t.family), bcc.PerfBufferOptions{PageCount: 64}); err != nil {
			log.Fatal(err)
		}
	}
	// header, once the perf buffers are open: a record submitted before
	// its CPU's ring exists is dropped (BCC prints the header first)
	if showTime {
		if csv {
			fmt.Printf("%s,", "TIME")
		} else {
			fmt.Printf("%-8s ", "TIME")
		}
	}
	if timestamp {
		if csv {
			fmt.Printf("%s,", "TIME(s)")
		} else {
			fmt.Printf("%-9s ", "TIME(s)")
		}
	}
	ipHeader := ""
	if wide || csv {
		ipHeader = "IP"
	}
	fmt.Printf(headerString, "SKADDR", "C-PID", "C-COMM", ipHeader, "LADDR", "LPORT", "RADDR", "RPORT", "OLDSTATE", "NEWSTATE", "MS")

	for {
		select {
		case <-interrupt:
			return
		default:
		}
		if _, err := b.PerfBufferPoll(100 * time.Millisecond); err != nil && !errors.Is(err, bcc.ErrClosed) {
			log.Fatal(err)
		}
	}
}

// cString is a char array up to its first NUL.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
