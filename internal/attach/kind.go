package attach

import "fmt"

// Kind names what a Link attaches to.
type Kind int

// The kinds of attachment, in the order of bcc.LinkKind.
const (
	Tracepoint Kind = iota
	RawTracepoint
	Kprobe
	Kretprobe
	Uprobe
	Uretprobe
	PerfEvent
	Kfunc
	Kretfunc
	LSM
	XDP
	RawSocket
	ProgAttach
)

var kindNames = [...]string{
	Tracepoint:    "tracepoint",
	RawTracepoint: "raw tracepoint",
	Kprobe:        "kprobe",
	Kretprobe:     "kretprobe",
	Uprobe:        "uprobe",
	Uretprobe:     "uretprobe",
	PerfEvent:     "perf event",
	Kfunc:         "kfunc",
	Kretfunc:      "kretfunc",
	LSM:           "LSM",
	XDP:           "XDP",
	RawSocket:     "raw socket",
	ProgAttach:    "prog attach",
}

// String is the kind's name ("tracepoint", "uprobe", ...); an unknown
// kind is shown as the public type bcc.LinkKind that callers see.
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("LinkKind(%d)", int(k))
}

// IsProbe reports whether the attachment counts toward BCC's process-wide
// probe quota (kprobes and uprobes, as BCC Python's _num_open_probes).
func (k Kind) IsProbe() bool {
	return k == Kprobe || k == Kretprobe || k == Uprobe || k == Uretprobe
}

// Call is the kind's name as in its Attach call ("Kprobe"), for errors
// about a call's options.
func (k Kind) Call() string {
	switch k {
	case Kprobe:
		return "Kprobe"
	case Kretprobe:
		return "Kretprobe"
	case Uprobe:
		return "Uprobe"
	case Uretprobe:
		return "Uretprobe"
	}
	return k.String()
}

// ProbeKind is the kind of a kprobe (user false) or uprobe, at the entry
// or, with ret, the return of the function.
func ProbeKind(user, ret bool) Kind {
	switch {
	case user && ret:
		return Uretprobe
	case user:
		return Uprobe
	case ret:
		return Kretprobe
	}
	return Kprobe
}
