// Package famcache keeps a counter or gauge metric family's protobuf
// structures between scrapes: a table metric of 40k series would otherwise
// allocate (and the collector later free) a Metric, a Counter and a value
// per series at every scrape. While the set of series stays the same, a
// scrape only writes the new values into the structures of the last one.
//
// The structures are shared between scrapes, so a family returned by
// Build must be encoded before the next Build: the exporter builds and
// encodes under one lock.
package famcache

import dto "github.com/prometheus/client_model/go"

// Family is one metric family's kept structures. The zero Family is ready.
type Family struct {
	mf       dto.MetricFamily
	typ      dto.MetricType
	metrics  []dto.Metric
	ptrs     []*dto.Metric
	values   []float64
	counters []dto.Counter
	gauges   []dto.Gauge
	version  uint64
	built    bool
}

// Build returns the family of n series: labels(i) gives series i's label
// pairs (kept, not copied), value(i) its value. version names the set and
// order of series; the same version as the last Build means the same
// series in the same order, and only values are written.
func (f *Family) Build(name, help *string, gauge bool, n int, version uint64,
	labels func(i int) []*dto.LabelPair, value func(i int) float64) *dto.MetricFamily {
	if !f.built || version != f.version || n != len(f.metrics) || gauge != (f.typ == dto.MetricType_GAUGE) {
		f.rebuild(gauge, n, labels)
		f.version, f.built = version, true
	}
	f.mf.Name, f.mf.Help = name, help
	for i := range n {
		f.values[i] = value(i)
	}
	return &f.mf
}

func (f *Family) rebuild(gauge bool, n int, labels func(i int) []*dto.LabelPair) {
	f.typ = dto.MetricType_COUNTER
	if gauge {
		f.typ = dto.MetricType_GAUGE
	}
	f.mf = dto.MetricFamily{Type: &f.typ}
	f.metrics = resize(f.metrics, n)
	f.ptrs = resize(f.ptrs, n)
	f.values = resize(f.values, n)
	if gauge {
		f.gauges = resize(f.gauges, n)
	} else {
		f.counters = resize(f.counters, n)
	}
	for i := range n {
		m := &f.metrics[i]
		*m = dto.Metric{Label: labels(i)}
		if gauge {
			f.gauges[i] = dto.Gauge{Value: &f.values[i]}
			m.Gauge = &f.gauges[i]
		} else {
			f.counters[i] = dto.Counter{Value: &f.values[i]}
			m.Counter = &f.counters[i]
		}
		f.ptrs[i] = m
	}
	f.mf.Metric = f.ptrs
}

// resize returns s with length n, reusing its array when it is big enough
// (dto structures hold no state that outlives a rebuild: each is reset).
func resize[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}
