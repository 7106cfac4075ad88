package compiler

// Program is a compiled program on its way into the kernel: the Session
// that loads its functions, kept until every function has loaded or its
// owner frees it, and the compile cache entry, stored when the session is
// freed if some function passed the verifier and none was rejected (a
// rejected program is never served from the cache: its log would lack
// libbcc's source lines). Its owner's lock guards it; methods on a nil
// *Program act as on a freed one.
type Program struct {
	session Session // nil once freed
	pending *Pending
	result  *Result
	loaded  map[string]bool
}

// NewProgram takes over s and its pending cache entry (nil for none).
func NewProgram(s Session, pending *Pending) *Program {
	return &Program{session: s, pending: pending, result: s.Result(), loaded: map[string]bool{}}
}

// Result is the compile's result; it stays valid after the session ends.
func (p *Program) Result() *Result { return p.result }

// Freed reports whether the session has ended: no function can be loaded.
func (p *Program) Freed() bool { return p == nil || p.session == nil }

// Load loads one function through the session. A result with FD < 0 is
// the verifier's rejection, which keeps the program out of the cache.
func (p *Program) Load(req LoadRequest) (LoadResult, error) {
	if p.Freed() {
		return LoadResult{FD: -1}, ErrClosed
	}
	r, err := p.session.Load(req)
	if err != nil {
		return r, err
	}
	if r.FD < 0 {
		p.pending = nil
	} else {
		p.loaded[req.Name] = true
	}
	return r, nil
}

// FreeIfDone frees the session once every function has loaded: nothing
// else will need it. The error is the cache's, from storing the compile.
func (p *Program) FreeIfDone() error {
	if p.Freed() {
		return nil
	}
	for _, f := range p.result.Functions {
		if !p.loaded[f.Name] {
			return nil
		}
	}
	storeErr, _ := p.Free()
	return storeErr
}

// Free stores the compile in the cache when it may be, then ends the
// session. storeErr is the cache's, closeErr the session's.
func (p *Program) Free() (storeErr, closeErr error) {
	if p.Freed() {
		return nil, nil
	}
	if p.pending != nil && len(p.loaded) > 0 {
		storeErr = p.pending.Store(p.result)
	}
	p.pending = nil
	return storeErr, p.Close()
}

// Close ends the session without storing anything in the cache.
func (p *Program) Close() error {
	if p.Freed() {
		return nil
	}
	err := p.session.Close()
	p.session = nil
	p.pending = nil
	return err
}
