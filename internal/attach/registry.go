package attach

import (
	"errors"
	"fmt"
	"sync"
)

// Errors of the Registry, re-exported by bcc under the same names.
var (
	// ErrAlreadyAttached refuses an attachment its Dup rule calls a
	// duplicate.
	ErrAlreadyAttached = errors.New("already attached")
	// ErrNotAttached is a by-name detach that named nothing attached.
	ErrNotAttached = errors.New("not attached")
	// ErrClosed is any use of a Registry after Close; bcc turns it into
	// its own ErrClosed.
	ErrClosed = errors.New("attachments closed")
)

// Handle is what an Opener made: the kernel objects that hold a program
// in place.
type Handle interface {
	// Detach removes the attachment and releases its descriptors.
	Detach() error
	// FD is the one descriptor holding the attachment, or -1.
	FD() int
	// Descriptors counts the descriptors (a perf event has one per CPU),
	// for NumOpenPerfEvents.
	Descriptors() int
}

// Opener attaches the loaded program progFD. Each mechanism (perf events,
// PMU probes, tracefs probe events, raw tracepoint links, netlink,
// BPF_PROG_ATTACH) is one.
type Opener func(progFD int) (Handle, error)

// Dup says which existing attachments make a new one a duplicate, refused
// with ErrAlreadyAttached.
type Dup int

// The duplicate rules.
const (
	DupNone           Dup = iota // the kernel decides (XDP, sockets)
	DupTarget                    // one function per target
	DupTargetFunction            // each function once per target
)

// Request is everything Registry.Attach needs.
type Request struct {
	Kind   Kind
	Target string // what by-name detaches match: see Link.Target
	Fn     string // the BPF function's name
	Dup    Dup
	// What names the attachment in errors ("tracepoint sched:sched_switch").
	What string
	// Program loads the function, or finds it loaded, and returns its
	// descriptor, which the caller keeps owning.
	Program func() (int, error)
	Open    Opener
	// Public, when set, makes the caller's handle for a new Link (bcc's
	// *Link), kept in Link.Public.
	Public func(*Link) any
}

// Link is one attachment recorded in a Registry.
type Link struct {
	// Public is what Request.Public made for this Link, set before the
	// Link is shared and never changed.
	Public any

	reg    *Registry
	kind   Kind
	target string
	fn     string
	h      Handle // nil once detached; guarded by reg.mu
}

// Kind is what the Link attaches to.
func (l *Link) Kind() Kind { return l.kind }

// Target names what the function is attached to, as by-name detaches know it.
func (l *Link) Target() string { return l.target }

// Function is the name of the attached BPF function.
func (l *Link) Function() string { return l.fn }

// String describes the Link: "tracepoint sched:sched_switch <- on_switch".
func (l *Link) String() string { return fmt.Sprintf("%s %s <- %s", l.kind, l.target, l.fn) }

// FD is the descriptor that holds the attachment when there is exactly
// one, else -1 (several, none, or detached).
func (l *Link) FD() int {
	l.reg.mu.Lock()
	defer l.reg.mu.Unlock()
	if l.h == nil {
		return -1
	}
	return l.h.FD()
}

// Attached reports whether the Link is still attached.
func (l *Link) Attached() bool {
	l.reg.mu.Lock()
	defer l.reg.mu.Unlock()
	return l.h != nil
}

// Close detaches this attachment only; it is idempotent.
func (l *Link) Close() error {
	l.reg.mu.Lock()
	defer l.reg.mu.Unlock()
	if l.h == nil {
		return nil
	}
	err := l.detachLocked()
	l.reg.forgetLocked(l)
	return err
}

// detachLocked detaches the Link, with reg.mu held; the caller removes it
// from reg.links.
func (l *Link) detachLocked() error {
	h := l.h
	if h == nil {
		return nil
	}
	l.h = nil
	if l.kind.IsProbe() {
		openProbes.Add(-1)
	}
	if err := h.Detach(); err != nil {
		return fmt.Errorf("detach %s from %s %s: %w", l.fn, l.kind, l.target, err)
	}
	return nil
}

// Registry is the set of a BPF object's open attachments. The zero value
// is empty and ready; its methods are safe for concurrent use.
//
// Lock order: Attach holds the Registry's lock while Request.Program runs,
// so Program may take its owner's lock but the owner must not call the
// Registry with its own lock held.
type Registry struct {
	mu     sync.Mutex
	links  []*Link
	closed bool
}

// Attach is the one path every attachment goes through: probe quota,
// duplicate check, program load, open, record and count.
func (r *Registry) Attach(req Request) (*Link, error) {
	if req.Kind.IsProbe() {
		if err := CheckProbeQuota(1); err != nil {
			return nil, err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	if req.Dup != DupNone {
		fn := ""
		if req.Dup == DupTargetFunction {
			fn = req.Fn
		}
		if r.findLocked(req.Kind, req.Target, fn) {
			return nil, fmt.Errorf("%s with %s: %w", req.What, req.Fn, ErrAlreadyAttached)
		}
	}
	progFD, err := req.Program()
	if err != nil {
		return nil, err
	}
	h, err := req.Open(progFD)
	if err != nil {
		return nil, fmt.Errorf("attach %s to %s: %w", req.Fn, req.What, err)
	}
	l := &Link{reg: r, kind: req.Kind, target: req.Target, fn: req.Fn, h: h}
	if req.Public != nil {
		l.Public = req.Public(l)
	}
	if l.kind.IsProbe() {
		openProbes.Add(1)
	}
	r.links = append(r.links, l)
	return l, nil
}

func (r *Registry) findLocked(kind Kind, target, fn string) bool {
	for _, a := range r.links {
		if a.kind == kind && a.target == target && (fn == "" || a.fn == fn) {
			return true
		}
	}
	return false
}

func (r *Registry) forgetLocked(l *Link) {
	for i, a := range r.links {
		if a == l {
			r.links = append(r.links[:i], r.links[i+1:]...)
			return
		}
	}
}

// Detach is BCC's by-name detach: every Link of kind on target (with
// function fn when it is not empty) is detached; none is ErrNotAttached.
func (r *Registry) Detach(kind Kind, target, fn string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	var errs []error
	kept := r.links[:0]
	found := false
	for _, a := range r.links {
		if a.kind == kind && a.target == target && (fn == "" || a.fn == fn) {
			found = true
			errs = append(errs, a.detachLocked())
			continue
		}
		kept = append(kept, a)
	}
	clear(r.links[len(kept):])
	r.links = kept
	if !found {
		return fmt.Errorf("%s: %w", target, ErrNotAttached)
	}
	return errors.Join(errs...)
}

// Count counts the attached Links of the given kinds.
func (r *Registry) Count(kinds ...Kind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, a := range r.links {
		for _, k := range kinds {
			if a.kind == k {
				n++
			}
		}
	}
	return n
}

// Descriptors counts the descriptors the Links of kind hold.
func (r *Registry) Descriptors(kind Kind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, a := range r.links {
		if a.kind == kind && a.h != nil {
			n += a.h.Descriptors()
		}
	}
	return n
}

// Links lists the attached Links, oldest first.
func (r *Registry) Links() []*Link {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Link(nil), r.links...)
}

// Close detaches every Link in reverse order of attachment and refuses
// further attachments. It is idempotent; detach errors are joined.
func (r *Registry) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	var errs []error
	for i := len(r.links) - 1; i >= 0; i-- {
		errs = append(errs, r.links[i].detachLocked())
	}
	r.links = nil
	return errors.Join(errs...)
}

// AttachAll attaches each of targets with one, for the regexp forms of
// BCC's attach calls. The probe quota is checked for all of them first
// when probes is set. With bestEffort (BCC's attach_kprobe(event_re=)) it
// fails only when nothing attached, joining every failure; without, it
// stops at the first failure and closes what it attached.
// The links are the caller's handles (bcc's *Link), which Close detaches.
func AttachAll[T any, L interface{ Close() error }](targets []T, probes, bestEffort bool, one func(T) (L, error)) ([]L, error) {
	if probes {
		if err := CheckProbeQuota(len(targets)); err != nil {
			return nil, err
		}
	}
	var errs []error
	links := make([]L, 0, len(targets))
	for _, t := range targets {
		l, err := one(t)
		if err == nil {
			links = append(links, l)
			continue
		}
		errs = append(errs, err)
		if !bestEffort {
			for i := len(links) - 1; i >= 0; i-- {
				errs = append(errs, links[i].Close())
			}
			return nil, errors.Join(errs...)
		}
	}
	if len(links) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return links, nil
}
