package usym

import "sync"

// Lazy makes a Resolver with default Options on first use and closes it on
// Release, so that a BPF object that never resolves a user address holds
// no process state, and no resolver outlives the object. The zero value is
// ready; it is safe for concurrent use.
type Lazy struct {
	mu sync.Mutex
	r  *Resolver
}

// Get returns the resolver, making it on the first call after a Release.
func (l *Lazy) Get() *Resolver {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.r == nil {
		l.r = NewResolver(Options{})
	}
	return l.r
}

// Release closes the resolver, if one was made.
func (l *Lazy) Release() {
	l.mu.Lock()
	if l.r != nil {
		l.r.Close()
		l.r = nil
	}
	l.mu.Unlock()
}

// Held reports whether a resolver is made and not yet released: what
// tests check to see that nothing outlives its owner.
func (l *Lazy) Held() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r != nil
}
