package tracefs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
)

// ErrNoProbeEvents means tracefs has no kprobe_events or uprobe_events
// file: the kernel was built without CONFIG_KPROBE_EVENTS or
// CONFIG_UPROBE_EVENTS.
var ErrNoProbeEvents = errors.New("no probe events file in tracefs")

// ProbeEvent is a dynamic kprobe or uprobe event created by writing to
// tracefs's kprobe_events or uprobe_events: the interface before the
// kprobe and uprobe PMUs (Linux < 4.17), and the only one that takes a
// kretprobe's maxactive. Unlike a PMU probe it outlives its perf events
// and the process: Remove deletes it.
type ProbeEvent struct {
	dir, file   string
	group, name string
}

// eventNamePart is what the kernel accepts in a group or event name.
var eventNamePart = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ProbeEventsSupported reports whether tracefs has the file ("kprobe_events"
// or "uprobe_events").
func ProbeEventsSupported(file string) bool {
	dir, err := Dir()
	if err != nil {
		return false
	}
	_, err = os.Stat(filepath.Join(dir, file))
	return err == nil
}

// AddUprobe creates uprobe event group/name on path at file offset offset
// ("p:group/name path:0xoffset[(0xrefctr)]", "r:..." for a return probe).
// refCtrOffset is the file offset of a USDT semaphore, or 0.
func AddUprobe(group, name, path string, offset, refCtrOffset uint64, ret bool) (*ProbeEvent, error) {
	typ := "p"
	if ret {
		typ = "r"
	}
	target := fmt.Sprintf("%s:%#x", path, offset)
	if refCtrOffset != 0 {
		target += fmt.Sprintf("(%#x)", refCtrOffset)
	}
	return addProbe("uprobe_events", typ, group, name, target)
}

// AddKprobe creates kprobe event group/name on kernel function symbol plus
// offset ("p:group/name symbol+offset"), or a return probe following up to
// maxActive concurrent calls ("r<maxActive>:group/name symbol"; 0 is the
// kernel's default).
func AddKprobe(group, name, symbol string, offset uint64, ret bool, maxActive int) (*ProbeEvent, error) {
	typ, target := "p", fmt.Sprintf("%s+%d", symbol, offset)
	if ret {
		typ, target = "r", symbol
		if maxActive > 0 {
			typ = fmt.Sprintf("r%d", maxActive)
		}
	}
	return addProbe("kprobe_events", typ, group, name, target)
}

func addProbe(file, typ, group, name, target string) (*ProbeEvent, error) {
	if !eventNamePart.MatchString(group) || !eventNamePart.MatchString(name) {
		return nil, fmt.Errorf("probe event %q/%q: invalid name", group, name)
	}
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	e := &ProbeEvent{dir: dir, file: file, group: group, name: name}
	if err := e.write(fmt.Sprintf("%s:%s/%s %s", typ, group, name, target)); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *ProbeEvent) write(line string) error {
	path := filepath.Join(e.dir, e.file)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", path, ErrNoProbeEvents)
	}
	if err != nil {
		return err
	}
	_, err = f.WriteString(line + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %q to %s: %w", line, path, err)
	}
	return nil
}

// Group and Name are the event's tracefs names.
func (e *ProbeEvent) Group() string { return e.group }

// Name is the event's name within its group.
func (e *ProbeEvent) Name() string { return e.name }

// ID is the event's tracepoint ID, for perf_event_open.
func (e *ProbeEvent) ID() (uint64, error) {
	return tracepointIDAt(e.dir, e.group, e.name)
}

// Remove deletes the event ("-:group/name"). The kernel refuses (EBUSY)
// while a perf event on it is open: close those first.
func (e *ProbeEvent) Remove() error {
	return e.write(fmt.Sprintf("-:%s/%s", e.group, e.name))
}
