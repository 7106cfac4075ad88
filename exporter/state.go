package exporter

import (
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"sync"
)

// stableDecoders give the same text for the same bits for as long as the
// bits stay in the table, so a key's series can be remembered across
// scrapes. The others depend on the moment: a process id's symbols, a
// cgroup id's path, an interface's name, a stack id reused after eviction.
var stableDecoders = map[string]bool{
	DecoderKsym: true, DecoderUint: true, DecoderHex: true, DecoderString: true,
	DecoderInetIP: true, DecoderStaticMap: true, DecoderRegexp: true, DecoderErrno: true,
	DecoderSyscall: true, DecoderMajorMinor: true,
}

// tableState is what a table metric keeps between scrapes: its series by
// label text (reset, not reallocated, at each scrape), their sorted order,
// and which series each raw key fed, so that a key seen before costs one
// map lookup instead of decoding its labels. Keys and series not seen in a
// scrape are forgotten at its end, so the state follows the table's size.
type tableState struct {
	mu       sync.Mutex // one scrape at a time per metric
	gen      uint64
	byLabels map[string]*series
	byKey    map[string]*keyRef // nil when a decoder is not stable
	order    []*series
	dirty    bool // order needs rebuilding

	// Per scrape.
	live, touched, dropped int
	errs                   map[string]int
	labels                 []string
	key                    strings.Builder
	raw                    []byte
}

type keyRef struct {
	s   *series
	gen uint64
}

func newTableState(r *metricReader) *tableState {
	st := &tableState{byLabels: map[string]*series{}}
	cacheable := true
	for _, l := range r.labels {
		for _, n := range l.names {
			cacheable = cacheable && stableDecoders[n]
		}
	}
	if cacheable {
		st.byKey = map[string]*keyRef{}
	}
	n := len(r.labels)
	if r.cpuLabel {
		n++
	}
	st.labels = make([]string, n)
	return st
}

// use makes s part of this scrape, resetting what the last one added,
// unless the metric already has max_series series in this scrape.
func (st *tableState) use(r *metricReader, s *series) *series {
	if s.gen == st.gen {
		return s
	}
	if st.live >= r.maxSeries {
		st.dropped++
		return nil
	}
	s.gen = st.gen
	s.value, s.total, s.sum, s.hasSum = 0, 0, 0, false
	clear(s.counts)
	st.live++
	return s
}

// lookup returns the series of an entry's key (and CPU, when cpu >= 0),
// nil when the entry is left out.
func (st *tableState) lookup(r *metricReader, key value, cpu int) *series {
	if st.byKey != nil {
		st.raw = append(st.raw[:0], key.Bytes()...)
		if cpu >= 0 {
			st.raw = binary.LittleEndian.AppendUint32(st.raw, uint32(cpu))
		}
		if ref, ok := st.byKey[string(st.raw)]; ok {
			if ref.gen != st.gen {
				ref.gen = st.gen
				st.touched++
			}
			return st.use(r, ref.s)
		}
	}
	st.key.Reset()
	for i, l := range r.labels {
		s, err := l.read(key)
		if err != nil {
			if !errors.Is(err, errDrop) {
				if st.errs == nil {
					st.errs = map[string]int{}
				}
				name := "unknown"
				var le *labelError
				if errors.As(err, &le) {
					name = le.decoder
				}
				st.errs[name]++
			}
			return nil
		}
		st.labels[i] = s
		st.key.WriteString(s)
		st.key.WriteByte(0xff)
	}
	if cpu >= 0 {
		s := itoa(cpu)
		st.labels[len(st.labels)-1] = s
		st.key.WriteString(s)
	}
	s, ok := st.byLabels[st.key.String()]
	if !ok {
		if st.live >= r.maxSeries {
			st.dropped++
			return nil
		}
		s = &series{labels: slices.Clone(st.labels), mapKey: strings.Clone(st.key.String())}
		if r.m.kind == kindHistogram {
			s.counts = make([]uint64, len(r.bounds))
		}
		st.byLabels[s.mapKey] = s
		st.dirty = true
	}
	s = st.use(r, s)
	if s != nil && st.byKey != nil {
		st.byKey[string(st.raw)] = &keyRef{s: s, gen: st.gen}
		st.touched++
	}
	return s
}

// finish forgets what this scrape did not see and returns the series in
// the registry's order.
func (st *tableState) finish(r *metricReader) []*series {
	if st.live < len(st.byLabels) {
		for k, s := range st.byLabels {
			if s.gen != st.gen {
				delete(st.byLabels, k)
			}
		}
		st.dirty = true
	}
	if st.byKey != nil && st.touched < len(st.byKey) {
		for k, ref := range st.byKey {
			if ref.gen != st.gen || ref.s.gen != st.gen {
				delete(st.byKey, k)
			}
		}
	}
	if st.dirty {
		st.order = st.order[:0]
		for _, s := range st.byLabels {
			st.order = append(st.order, s)
		}
		r.sortSeries(st.order)
		st.dirty = false
	}
	return st.order
}

func itoa(n int) string {
	if n >= 0 && n < 10 {
		return string(rune('0' + n))
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}
