package maps

import "fmt"

// CheckHoldsPrograms says why m cannot take a program's descriptor as a
// value: only prog arrays hold programs.
func (m *Map) CheckHoldsPrograms() error {
	if m.typ != ProgArray {
		return fmt.Errorf("table %s is a %s: only prog arrays hold functions: %w", m.name, m.typ, ErrTypeMismatch)
	}
	return nil
}

// HoldInner holds inner's descriptor, as the value of an update of m (a
// map of maps), until release: inner cannot close in between. A nil inner
// is refused.
func (m *Map) HoldInner(inner *Map) (fd int, release func(), err error) {
	if m.typ != ArrayOfMaps && m.typ != HashOfMaps {
		return -1, nil, fmt.Errorf("table %s is a %s: only maps of maps hold tables: %w", m.name, m.typ, ErrTypeMismatch)
	}
	if inner == nil {
		return -1, nil, fmt.Errorf("table %s: no inner table: %w", m.name, ErrTypeMismatch)
	}
	if inner == m {
		// The kernel refuses it anyway; read-locking m twice could
		// deadlock against a Close waiting in between.
		return -1, nil, fmt.Errorf("table %s cannot hold itself: %w", m.name, ErrTypeMismatch)
	}
	fd, release, err = inner.Hold()
	if err != nil {
		return -1, nil, fmt.Errorf("table %s: inner %w", m.name, err)
	}
	return fd, release, nil
}

// CheckEventBuffer says why m cannot be read as an event buffer: a perf
// buffer (perf), a ring buffer (ring), or, with both, either.
func (m *Map) CheckEventBuffer(perf, ring bool) error {
	switch {
	case perf && ring:
		if m.typ != PerfEventArray && m.typ != Ringbuf {
			return fmt.Errorf("table %s is a %s, not a perf or ring buffer: %w", m.name, m.typ, ErrWrongTableType)
		}
	case perf && m.typ != PerfEventArray:
		return fmt.Errorf("table %s is a %s, not a perf_event_array (BPF_PERF_OUTPUT): %w", m.name, m.typ, ErrWrongTableType)
	case ring && m.typ != Ringbuf:
		return fmt.Errorf("table %s is a %s, not a ringbuf (BPF_RINGBUF_OUTPUT): %w", m.name, m.typ, ErrWrongTableType)
	}
	return nil
}
