package exporter

import (
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/gobcc/gobcc/exporter/internal/famcache"
	"github.com/gobcc/gobcc/exporter/internal/rawfield"
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
	mu        sync.Mutex // one scrape at a time per metric
	gen       uint64
	byLabels  map[string]*series
	cacheable bool // every decoder is stable: remember keys' series
	// The previous scrape's keys (concatenated) and their series (nil:
	// not remembered, dropped: left out by a regexp), in the order the
	// table returned them: a table that did not change returns the same
	// order, so the key at index i is compared with the one before at i,
	// a sequential scan; byKey, built from them on the first mismatch,
	// finds keys that moved.
	prevKeys, curKeys     []byte
	prevSeries, curSeries []*series
	keySize               int
	byKey                 map[string]*series
	order                 []*series
	dirty                 bool // order needs rebuilding

	// Per scrape.
	live, dropped int
	errs          map[string]int
	labels        []string
	key           strings.Builder

	// The table's entries, read into the same buffers at every scrape,
	// and where in them the value and a histogram's slot lie.
	raw                   rawEntries
	valueField, slotField rawfield.Field
	valueRaw, slotRaw     bool

	// The metric family's structures, kept between scrapes served one at
	// a time (see Exporter.Handler); orderVersion changes with order.
	fam          famcache.Family
	orderVersion uint64
}

// dropped marks a remembered key whose entry a regexp decoder left out.
var dropped = &series{}

func newTableState(r *metricReader) *tableState {
	st := &tableState{byLabels: map[string]*series{}}
	cacheable := true
	for _, l := range r.labels {
		for _, n := range l.names {
			cacheable = cacheable && stableDecoders[n]
		}
	}
	st.cacheable = cacheable
	if r.m.kind == kindHistogram {
		// A histogram's count is the whole leaf; its slot a key field.
		st.valueField, st.valueRaw = rawFieldOf(r.table.leaf, nil)
		st.slotField, st.slotRaw = rawFieldOf(r.table.key, r.slotPath)
	} else {
		st.valueField, st.valueRaw = rawFieldOf(r.table.leaf, r.valuePath)
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

// begin starts a scrape of n entries of a table whose keys are keySize
// bytes.
func (st *tableState) begin(keySize, n int) {
	st.gen++
	st.live, st.dropped, st.errs = 0, 0, nil
	if keySize != st.keySize {
		st.prevKeys, st.prevSeries = nil, nil
	}
	st.keySize = keySize
	st.byKey = nil
	st.curKeys, st.curSeries = st.curKeys[:0], st.curSeries[:0]
	// This scrape's keys and series become the next one's previous ones,
	// so both sets of buffers are needed from the second scrape on. Size
	// both now, with an eighth to spare, rather than let appends grow
	// them: the memory a steady table needs is then taken at its first
	// scrape, and growing by appends would leave twice as much garbage.
	if want := n + n/8; cap(st.curSeries) < n {
		st.curKeys = make([]byte, 0, want*keySize)
		st.curSeries = make([]*series, 0, want)
		if cap(st.prevSeries) < n {
			st.prevKeys = append(make([]byte, 0, want*keySize), st.prevKeys...)
			st.prevSeries = append(make([]*series, 0, want), st.prevSeries...)
		}
	}
}

// remembered returns the series the previous scrape found for key, which
// the table returned at index i (only for cacheable states).
func (st *tableState) remembered(i int, raw []byte) (*series, bool) {
	ks := st.keySize
	if i < len(st.prevSeries) && string(st.prevKeys[i*ks:(i+1)*ks]) == string(raw) {
		s := st.prevSeries[i]
		return s, s != nil
	}
	if st.byKey == nil {
		st.byKey = make(map[string]*series, len(st.prevSeries))
		for j, s := range st.prevSeries {
			if s != nil {
				st.byKey[string(st.prevKeys[j*ks:(j+1)*ks])] = s
			}
		}
	}
	s, ok := st.byKey[string(raw)]
	return s, ok
}

// lookup returns the series of the entry at index i (its key, and its
// CPU when cpu >= 0), nil when the entry is left out.
func (st *tableState) lookup(r *metricReader, i int, raw []byte, cpu int) *series {
	remember := st.cacheable && cpu < 0
	if remember {
		st.curKeys = append(st.curKeys, raw...)
		if s, ok := st.remembered(i, raw); ok {
			st.curSeries = append(st.curSeries, s)
			if s == dropped {
				return nil
			}
			return st.use(r, s)
		}
	}
	key, err := r.table.key.Decode(raw)
	if err != nil {
		st.countError("key")
		return nil
	}
	s, drop := st.find(r, key, cpu)
	if remember {
		switch {
		case drop:
			st.curSeries = append(st.curSeries, dropped)
		default:
			st.curSeries = append(st.curSeries, s) // nil: decoder error or limit, decoded again
		}
	}
	return s
}

// find decodes key's labels and returns their series; drop reports a
// regexp decoder leaving the entry out.
func (st *tableState) find(r *metricReader, key value, cpu int) (s *series, drop bool) {
	st.key.Reset()
	for i, l := range r.labels {
		text, err := l.read(key)
		if err != nil {
			if errors.Is(err, errDrop) {
				return nil, true
			}
			name := "unknown"
			var le *labelError
			if errors.As(err, &le) {
				name = le.decoder
			}
			st.countError(name)
			return nil, false
		}
		st.labels[i] = text
		st.key.WriteString(text)
		st.key.WriteByte(0xff)
	}
	if cpu >= 0 {
		text := itoa(cpu)
		st.labels[len(st.labels)-1] = text
		st.key.WriteString(text)
	}
	s, ok := st.byLabels[st.key.String()]
	if !ok {
		if st.live >= r.maxSeries {
			st.dropped++
			return nil, false
		}
		s = &series{labels: slices.Clone(st.labels), mapKey: strings.Clone(st.key.String())}
		if r.m.kind == kindHistogram {
			s.counts = make([]uint64, len(r.bounds))
		}
		st.byLabels[s.mapKey] = s
		st.dirty = true
	}
	return st.use(r, s), false
}

// countError counts an entry left out because decoder name failed.
func (st *tableState) countError(name string) {
	if st.errs == nil {
		st.errs = map[string]int{}
	}
	st.errs[name]++
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
	// This scrape's keys are the next one's; series forgotten above must
	// not be found through them.
	for i, s := range st.curSeries {
		if s != nil && s != dropped && s.gen != st.gen {
			st.curSeries[i] = nil
		}
	}
	st.prevKeys, st.curKeys = st.curKeys, st.prevKeys
	st.prevSeries, st.curSeries = st.curSeries, st.prevSeries
	st.byKey = nil
	if st.dirty {
		st.order = st.order[:0]
		for _, s := range st.byLabels {
			st.order = append(st.order, s)
		}
		r.sortSeries(st.order)
		st.dirty = false
		st.orderVersion++
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
