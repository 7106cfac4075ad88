package kallsyms

import "sync"

// Lazy loads /proc/kallsyms on first use and drops it on Release, so that
// a BPF object that never names a kernel address never reads it, and no
// table outlives the object. The zero value is ready; it is safe for
// concurrent use.
type Lazy struct {
	mu  sync.Mutex
	t   *Table
	err error
}

// Get returns the table, loading it on the first call; a failed load is
// remembered until Release.
func (l *Lazy) Get() (*Table, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.t == nil && l.err == nil {
		l.t, l.err = Load()
	}
	return l.t, l.err
}

// Release drops the table; the next Get loads it again.
func (l *Lazy) Release() {
	l.mu.Lock()
	l.t, l.err = nil, nil
	l.mu.Unlock()
}
