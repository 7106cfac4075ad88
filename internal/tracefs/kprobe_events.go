package tracefs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// ErrNoKprobeEvents means tracefs has no kprobe_events file: the kernel was
// built without CONFIG_KPROBE_EVENTS (or without kprobes at all).
var ErrNoKprobeEvents = errors.New("tracefs has no kprobe_events (kernel built without CONFIG_KPROBE_EVENTS)")

// KprobeGroup is the event group gobcc's kprobe_events entries live in:
// events/gobcc/<name>. Every entry name carries the creating process's pid,
// so RemoveStaleKprobeEvents can tell leftovers of dead processes apart.
const KprobeGroup = "gobcc"

// maxEventNameLen is the kernel's MAX_EVENT_NAME_LEN minus its NUL.
const maxEventNameLen = 63

// KprobeSpec describes a kprobe_events entry.
type KprobeSpec struct {
	// Symbol is the kernel function to probe.
	Symbol string
	// Offset is the byte offset into Symbol for an entry probe; a
	// return probe must have none.
	Offset uint64
	// Retprobe makes a return probe (a kretprobe, "r:" entry).
	Retprobe bool
	// MaxActive, for a return probe, is how many simultaneous instances
	// of the function the kretprobe can follow ("r<N>:"); 0 leaves the
	// kernel's default. The kprobe PMU has no such setting: this is the
	// reason to go through kprobe_events.
	MaxActive int
}

// KprobeEvent is an entry this process created in kprobe_events. Its ID
// is the tracepoint id perf_event_open takes (PERF_TYPE_TRACEPOINT) to
// attach a BPF program, as for a static tracepoint. The caller owns it and
// must call Remove after closing every perf event opened on it.
type KprobeEvent struct {
	// Group and Name are the event's events/<Group>/<Name> directory.
	Group, Name string
	// ID is the event's tracepoint id.
	ID uint64

	dir string
}

var kprobeEventSeq atomic.Uint64

// kprobeEventName makes a unique entry name, p_<symbol>_<offset>_<pid>_<seq>
// or r_..., keeping only characters the kernel accepts in event names and
// shortening the symbol to fit the kernel's length limit.
func kprobeEventName(spec KprobeSpec, pid int, seq uint64) string {
	kind := "p"
	if spec.Retprobe {
		kind = "r"
	}
	suffix := fmt.Sprintf("_%d_%d_%d", spec.Offset, pid, seq)
	sym := []byte(spec.Symbol)
	for i, c := range sym {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			sym[i] = '_'
		}
	}
	if room := maxEventNameLen - len(kind) - 1 - len(suffix); len(sym) > room {
		sym = sym[:room]
	}
	return kind + "_" + string(sym) + suffix
}

// kprobeEventLine is the kprobe_events definition of spec named name.
func kprobeEventLine(spec KprobeSpec, name string) (string, error) {
	if spec.Symbol == "" || strings.ContainsAny(spec.Symbol, " \t\n:") {
		return "", fmt.Errorf("kprobe_events: invalid symbol %q", spec.Symbol)
	}
	if spec.MaxActive < 0 {
		return "", fmt.Errorf("kprobe_events: negative maxactive %d", spec.MaxActive)
	}
	if spec.Retprobe {
		if spec.Offset != 0 {
			return "", fmt.Errorf("kprobe_events: a return probe on %s cannot have an offset", spec.Symbol)
		}
		kind := "r"
		if spec.MaxActive > 0 {
			kind += strconv.Itoa(spec.MaxActive)
		}
		return fmt.Sprintf("%s:%s/%s %s", kind, KprobeGroup, name, spec.Symbol), nil
	}
	if spec.MaxActive > 0 {
		return "", fmt.Errorf("kprobe_events: maxactive is for return probes only (%s)", spec.Symbol)
	}
	return fmt.Sprintf("p:%s/%s %s+%d", KprobeGroup, name, spec.Symbol, spec.Offset), nil
}

// CreateKprobeEvent adds a kprobe (or kretprobe) entry to kprobe_events
// and returns it with its tracepoint id. The kernel's refusal (no such
// symbol, an offset inside no instruction, a blacklisted function) comes
// back as the write's errno, wrapped. Without kprobe_events the error
// wraps ErrNoKprobeEvents.
func CreateKprobeEvent(spec KprobeSpec) (*KprobeEvent, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	return createKprobeEventAt(dir, spec)
}

func createKprobeEventAt(dir string, spec KprobeSpec) (*KprobeEvent, error) {
	name := kprobeEventName(spec, os.Getpid(), kprobeEventSeq.Add(1))
	line, err := kprobeEventLine(spec, name)
	if err != nil {
		return nil, err
	}
	if err := writeKprobeEvents(dir, line); err != nil {
		return nil, fmt.Errorf("create kprobe event %q: %w", line, err)
	}
	e := &KprobeEvent{Group: KprobeGroup, Name: name, dir: dir}
	content, err := os.ReadFile(filepath.Join(dir, "events", KprobeGroup, name, "id"))
	if err == nil {
		e.ID, err = strconv.ParseUint(strings.TrimSpace(string(content)), 10, 64)
	}
	if err != nil {
		_ = e.Remove()
		return nil, fmt.Errorf("kprobe event %s/%s: read id: %w", KprobeGroup, name, err)
	}
	return e, nil
}

// Remove deletes the entry from kprobe_events. The kernel refuses (EBUSY)
// while a perf event or an enabled trace still uses it: close those first.
// Removing an entry that is already gone is not an error.
func (e *KprobeEvent) Remove() error {
	err := writeKprobeEvents(e.dir, fmt.Sprintf("-:%s/%s", e.Group, e.Name))
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return fmt.Errorf("remove kprobe event %s/%s: %w", e.Group, e.Name, err)
}

// writeKprobeEvents appends one command to kprobe_events. O_APPEND
// matters: opening it for writing without it clears every entry.
func writeKprobeEvents(dir, line string) error {
	f, err := os.OpenFile(filepath.Join(dir, "kprobe_events"), os.O_WRONLY|os.O_APPEND, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNoKprobeEvents
	}
	if err != nil {
		return err
	}
	_, werr := f.Write([]byte(line + "\n"))
	cerr := f.Close()
	if werr != nil {
		return werr
	}
	return cerr
}

// KprobeEventLines returns the entries of kprobe_events, one definition a
// line, as the kernel lists them (e.g. "r4:gobcc/r_vfs_read_0_7_1 vfs_read").
func KprobeEventLines() ([]string, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	content, err := os.ReadFile(filepath.Join(dir, "kprobe_events"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoKprobeEvents
	}
	if err != nil {
		return nil, fmt.Errorf("read kprobe_events: %w", err)
	}
	var lines []string
	for _, l := range strings.Split(string(content), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines, nil
}

// KprobeHits returns the hit and miss counts kprobe_profile shows for the
// entry. The kernel counts only while the probe is in use (an open perf
// event or an enabled trace event).
func (e *KprobeEvent) KprobeHits() (hits, misses uint64, err error) {
	content, err := os.ReadFile(filepath.Join(e.dir, "kprobe_profile"))
	if err != nil {
		return 0, 0, fmt.Errorf("read kprobe_profile: %w", err)
	}
	for _, l := range strings.Split(string(content), "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && (f[0] == e.Name || f[0] == e.Group+"/"+e.Name) {
			hits, err1 := strconv.ParseUint(f[1], 10, 64)
			misses, err2 := strconv.ParseUint(f[2], 10, 64)
			if err1 != nil || err2 != nil {
				return 0, 0, fmt.Errorf("kprobe_profile line %q: %w", l, ErrUnexpectedFormat)
			}
			return hits, misses, nil
		}
	}
	return 0, 0, fmt.Errorf("kprobe_profile has no line for %s/%s: %w", e.Group, e.Name, ErrUnexpectedFormat)
}

// RemoveStaleKprobeEvents removes the gobcc entries left in kprobe_events
// by processes that no longer exist (killed before they could clean up),
// and returns how many it removed. Entries of live processes stay.
func RemoveStaleKprobeEvents() (int, error) {
	lines, err := KprobeEventLines()
	if err != nil {
		return 0, err
	}
	dir, err := Dir()
	if err != nil {
		return 0, err
	}
	removed := 0
	var errs []error
	for _, l := range lines {
		def, _, _ := strings.Cut(l, " ")
		_, event, ok := strings.Cut(def, ":")
		group, name, ok2 := strings.Cut(event, "/")
		if !ok || !ok2 || group != KprobeGroup {
			continue
		}
		pid, ok := eventNamePID(name)
		if !ok || pid == os.Getpid() || unix.Kill(pid, 0) != unix.ESRCH {
			continue
		}
		e := &KprobeEvent{Group: group, Name: name, dir: dir}
		if err := e.Remove(); err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	return removed, errors.Join(errs...)
}

// eventNamePID takes the pid out of a name made by kprobeEventName: the
// second of the last three _-separated numbers.
func eventNamePID(name string) (int, bool) {
	f := strings.Split(name, "_")
	if len(f) < 5 {
		return 0, false
	}
	pid, err := strconv.Atoi(f[len(f)-2])
	return pid, err == nil && pid > 0
}
