package bcc

import (
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

const queueProg = `
BPF_QUEUE(q, u64, 4);
BPF_STACK(s, u64, 4);
BPF_ARRAY(target, u32, 1);
TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    int zero = 0;
    u32 *tid = target.lookup(&zero);
    if (!tid || (u32)bpf_get_current_pid_tgid() != *tid)
        return 0;
    u64 v = 100;
    q.push(&v, 0);
    s.push(&v, 0);
    return 0;
}
`

func TestQueueAndStack(t *testing.T) {
	b := newEventBPF(t, queueProg)
	q, s := mustTable(t, b, "q"), mustTable(t, b, "s")
	for _, tb := range []*Table{q, s} {
		if _, err := tb.Pop(); !errors.Is(err, ErrKeyNotExist) {
			t.Errorf("%s: Pop on empty: %v", tb.Name(), err)
		}
		if _, err := tb.Peek(); !errors.Is(err, ErrKeyNotExist) {
			t.Errorf("%s: Peek on empty: %v", tb.Name(), err)
		}
		for i := 1; i <= 4; i++ {
			if err := tb.Push(i, PushAny); err != nil {
				t.Fatal(err)
			}
		}
		if err := tb.Push(5, PushAny); !errors.Is(err, unix.E2BIG) {
			t.Errorf("%s: Push on full: %v, want E2BIG", tb.Name(), err)
		}
		if _, err := tb.Items(); !errors.Is(err, ErrWrongTableType) {
			t.Errorf("%s: Items: %v", tb.Name(), err)
		}
	}
	// Queue: oldest first; PushExist drops the oldest to make room.
	if err := q.Push(5, PushExist); err != nil {
		t.Fatal(err)
	}
	if v, err := q.Peek(); err != nil || v.Uint64() != 2 {
		t.Errorf("queue Peek = %v, %v; want 2", v, err)
	}
	if v, err := q.Pop(); err != nil || v.Uint64() != 2 {
		t.Errorf("queue Pop = %v, %v; want 2", v, err)
	}
	vals, err := q.Values()
	if err != nil || join(vals) != "3 4 5" {
		t.Errorf("queue Values = %s, %v; want 3 4 5", join(vals), err)
	}
	// Stack: newest first.
	if v, err := s.Pop(); err != nil || v.Uint64() != 4 {
		t.Errorf("stack Pop = %v, %v; want 4", v, err)
	}
	if vals, _ := s.Values(); join(vals) != "3 2 1" {
		t.Errorf("stack Values = %s; want 3 2 1", join(vals))
	}
	if vals, err := s.Values(); len(vals) != 0 || err != nil {
		t.Errorf("Values of an empty stack = %v, %v", vals, err)
	}
	// The program pushes too.
	unlock := produceFromThisThread(t, b)
	syscall.Getpid()
	unlock()
	if v, err := q.Pop(); err != nil || v.Uint64() != 100 {
		t.Errorf("value pushed by BPF: %v, %v", v, err)
	}
	if err := q.Push("x", 0); !errors.Is(err, ErrTypeMismatch) {
		t.Errorf("Push of a string into a u64 queue: %v", err)
	}
	if _, err := mustTable(t, b, "target").Pop(); !errors.Is(err, ErrWrongTableType) {
		t.Errorf("Pop on an array: %v", err)
	}
}

func join(vals []Value) string {
	var parts []string
	for _, v := range vals {
		parts = append(parts, strconv.FormatUint(v.Uint64(), 10))
	}
	return strings.Join(parts, " ")
}

// The event type built from libbcc's field list matches the ctypes class
// BCC Python's table.event builds: same field names, offsets and size.
// (__int128 is left out: Python aligns it to 8, C and gobcc to 16; see
// TestEventFieldTypes.)
func TestEventTypeParityWithBCCPython(t *testing.T) {
	b := newEventBPF(t, eventParityProg)
	typ, err := mustTable(t, b, "events").EventType()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range typ.Fields {
		got = append(got, f.Name+"@"+strconv.Itoa(f.Offset))
	}
	got = append(got, "size="+strconv.Itoa(typ.Size))
	py := `
import sys, ctypes as ct
from bcc import BPF
from bcc.table import _get_event_class
b = BPF(text=sys.argv[1])
c = _get_event_class(b["events"])
print(" ".join("%s@%d" % (n, getattr(c, n).offset) for n, _ in c._fields_) + " size=%d" % ct.sizeof(c))
`
	out, err := exec.Command("/usr/bin/python3", "-c", py, eventParityProg).Output()
	if err != nil {
		t.Fatalf("BCC Python: %v", err)
	}
	if want := strings.TrimSpace(string(out)); strings.Join(got, " ") != want {
		t.Errorf("gobcc:  %s\nPython: %s", strings.Join(got, " "), want)
	}
}

const eventParityProg = `
struct ev { u8 a; u64 b; char comm[5]; int arr[3]; s16 h; u32 pid; void *p; u8 tail; };
BPF_PERF_OUTPUT(events);
TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    struct ev e = {};
    events.perf_submit(args, &e, sizeof(e));
    return 0;
}
`
