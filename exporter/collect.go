package exporter

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// series is one label set's aggregate within a scrape (or, for event
// counters, since start).
type series struct {
	labels []string
	value  float64
	counts []uint64 // histograms: per bucket
	total  uint64   // histograms: every observation, +Inf
	sum    float64
	hasSum bool // the sum came from sum_slot

	pairs  []*dto.LabelPair // made at the first emit
	gen    uint64           // table metrics: the scrape that last fed it
	mapKey string           // table metrics: its key in tableState.byLabels
}

// aggregator merges entries whose labels decode alike (two call sites in
// one function under ksym, say) and enforces the series limit.
type aggregator struct {
	r       *metricReader
	series  map[string]*series
	order   []*series
	labels  []string        // scratch
	key     strings.Builder // scratch
	dropped int
	errs    map[string]int // decoder name -> errors
}

func newAggregator(r *metricReader, sizeHint int) *aggregator {
	n := len(r.labels)
	if r.cpuLabel {
		n++
	}
	return &aggregator{r: r, series: make(map[string]*series, min(sizeHint, r.maxSeries)), labels: make([]string, n)}
}

// find returns the series of root's labels (plus cpu when cpu >= 0), nil
// when the entry is dropped (regexp, decoder error, series limit).
func (a *aggregator) find(root value, cpu int) *series {
	a.key.Reset()
	for i, l := range a.r.labels {
		s, err := l.read(root)
		if err != nil {
			if !errors.Is(err, errDrop) {
				if a.errs == nil {
					a.errs = map[string]int{}
				}
				var le *labelError
				name := "unknown"
				if errors.As(err, &le) {
					name = le.decoder
				}
				a.errs[name]++
			}
			return nil
		}
		a.labels[i] = s
		a.key.WriteString(s)
		a.key.WriteByte(0xff)
	}
	if cpu >= 0 {
		s := strconv.Itoa(cpu)
		a.labels[len(a.labels)-1] = s
		a.key.WriteString(s)
	}
	if s, ok := a.series[a.key.String()]; ok {
		return s
	}
	if len(a.series) >= a.r.maxSeries {
		a.dropped++
		return nil
	}
	s := &series{labels: append([]string(nil), a.labels...)}
	if a.r.m.kind == kindHistogram {
		s.counts = make([]uint64, len(a.r.bounds))
	}
	a.series[strings.Clone(a.key.String())] = s
	a.order = append(a.order, s)
	return s
}

// addHistogram adds count observations of slot to s.
func (r *metricReader) addHistogram(s *series, slot uint64, count uint64) {
	if r.sumSlot >= 0 && slot == uint64(r.sumSlot) {
		s.sum += float64(count)
		s.hasSum = true
		return
	}
	s.total += count
	if i := r.slotIndex(slot); i >= 0 {
		s.counts[i] += count
		if !s.hasSum {
			s.sum += float64(count) * r.lower(slot)
		}
	} else if !s.hasSum {
		s.sum += float64(count) * r.lower(slot)
	}
}

// collectTable reads the metric's table once and sends its series.
func (r *metricReader) collectTable(ch chan<- prometheus.Metric, self *selfMetrics) {
	r.scrapeTable(self, func(all []*series) { r.emit(ch, all) })
}

// familyTable reads the metric's table once and returns its series as a
// metric family, nil when it has none.
// With reuse (scrapes served one at a time, the family encoded before the
// next), a counter's or gauge's structures are those of the last scrape,
// with new values.
func (r *metricReader) familyTable(self *selfMetrics, reuse bool) *dto.MetricFamily {
	var mf *dto.MetricFamily
	r.scrapeTable(self, func(all []*series) {
		if !reuse || r.m.kind == kindHistogram || len(all) == 0 {
			mf = r.family(all)
			return
		}
		st := r.state
		mf = st.fam.Build(&r.m.Name, &r.help, r.valueType == prometheus.GaugeValue, len(all), st.orderVersion,
			func(i int) []*dto.LabelPair {
				s := all[i]
				if s.pairs == nil {
					s.pairs = prometheus.MakeLabelPairs(r.desc, s.labels)
				}
				return s.pairs
			},
			func(i int) float64 { return all[i].value })
	})
	return mf
}

// scrapeTable reads the table and aggregates its entries into series,
// which use reads before the next scrape may change them. The table is
// read raw into buffers the metric keeps (a table of steady size costs no
// allocation per entry); keys are decoded only when the previous scrape
// did not see them, values are read at their offsets.
func (r *metricReader) scrapeTable(self *selfMetrics, use func([]*series)) {
	r.stateMu.Lock()
	defer r.stateMu.Unlock()
	if r.state == nil {
		r.state = newTableState(r)
	}
	st := r.state
	if err := readRaw(r.table.table, &st.raw); err != nil {
		self.readErrors.WithLabelValues(r.m.Name).Inc()
		return
	}
	raw := &st.raw
	st.begin(raw.KeySize, raw.N)
	hist := r.m.kind == kindHistogram
	perCPU := r.table.perCPU
	cpuStep := (raw.LeafSize + 7) &^ 7
	for i := range raw.N {
		key, val := raw.Key(i), raw.Value(i)
		if perCPU && r.cpuLabel {
			for cpu := range raw.CPUs {
				if s := st.lookup(r, i, key, cpu); s != nil {
					st.add(r, s, key, val[cpu*cpuStep:cpu*cpuStep+raw.LeafSize], hist)
				}
			}
			continue
		}
		s := st.lookup(r, i, key, -1)
		if s == nil {
			continue
		}
		if perCPU {
			for cpu := range raw.CPUs {
				st.add(r, s, key, val[cpu*cpuStep:cpu*cpuStep+raw.LeafSize], hist)
			}
		} else {
			st.add(r, s, key, val, hist)
		}
	}
	use(st.finish(r))
	if st.dropped > 0 {
		self.dropped.WithLabelValues(r.m.Name).Add(float64(st.dropped))
	}
	for name, n := range st.errs {
		self.decoderErrors.WithLabelValues(r.m.Name, name).Add(float64(n))
	}
}

// add adds one value (one CPU's, for per-CPU tables) of the entry with
// raw key and value bytes to s.
func (st *tableState) add(r *metricReader, s *series, key, val []byte, hist bool) {
	if hist {
		var slot uint64
		if st.slotRaw {
			slot = st.slotField.Uint64(key)
		} else if k, err := r.table.key.Decode(key); err == nil {
			slot = pathValue(k, r.slotPath).Uint64()
		}
		var count uint64
		if st.valueRaw {
			count = st.valueField.Uint64(val)
		} else if v, err := r.table.leaf.Decode(val); err == nil {
			count = v.Uint64()
		}
		r.addHistogram(s, slot, count)
		return
	}
	if st.valueRaw {
		s.value += st.valueField.Float64(val)
	} else if v, err := r.table.leaf.Decode(val); err == nil {
		s.value += numeric(pathValue(v, r.valuePath))
	}
}

// family builds the metric family of sorted series as the registry would
// from the constant metrics emit sends, with a few allocations per scrape
// instead of several per series, and without the registry's per-metric
// checks: label names were checked with the configuration, label sets are
// distinct by construction.
func (r *metricReader) family(all []*series) *dto.MetricFamily {
	if len(all) == 0 {
		return nil
	}
	mf := &dto.MetricFamily{Name: &r.m.Name, Help: &r.help, Metric: make([]*dto.Metric, len(all))}
	metrics := make([]dto.Metric, len(all))
	for i, s := range all {
		if s.pairs == nil {
			s.pairs = prometheus.MakeLabelPairs(r.desc, s.labels)
		}
		metrics[i].Label = s.pairs
		mf.Metric[i] = &metrics[i]
	}
	switch {
	case r.m.kind == kindHistogram:
		mf.Type = dto.MetricType_HISTOGRAM.Enum()
		hists := make([]dto.Histogram, len(all))
		counts := make([]uint64, len(all))
		sums := make([]float64, len(all))
		buckets := make([]dto.Bucket, len(all)*len(r.bounds))
		cums := make([]uint64, len(buckets))
		for i, s := range all {
			h := &hists[i]
			counts[i], sums[i] = s.total, s.sum
			h.SampleCount, h.SampleSum = &counts[i], &sums[i]
			h.Bucket = make([]*dto.Bucket, len(r.bounds))
			var cum uint64
			for j := range r.bounds {
				k := i*len(r.bounds) + j
				cum += s.counts[j]
				cums[k] = cum
				buckets[k].CumulativeCount, buckets[k].UpperBound = &cums[k], &r.bounds[j]
				h.Bucket[j] = &buckets[k]
			}
			metrics[i].Histogram = h
		}
	case r.valueType == prometheus.GaugeValue:
		mf.Type = dto.MetricType_GAUGE.Enum()
		gauges := make([]dto.Gauge, len(all))
		values := make([]float64, len(all))
		for i, s := range all {
			values[i] = s.value
			gauges[i].Value = &values[i]
			metrics[i].Gauge = &gauges[i]
		}
	default:
		mf.Type = dto.MetricType_COUNTER.Enum()
		counters := make([]dto.Counter, len(all))
		values := make([]float64, len(all))
		for i, s := range all {
			values[i] = s.value
			counters[i].Value = &values[i]
			metrics[i].Counter = &counters[i]
		}
	}
	return mf
}

func (a *aggregator) report(self *selfMetrics) {
	if a.dropped > 0 {
		self.dropped.WithLabelValues(a.r.m.Name).Add(float64(a.dropped))
	}
	for name, n := range a.errs {
		self.decoderErrors.WithLabelValues(a.r.m.Name, name).Add(float64(n))
	}
}

// emit sends the series as constant metrics.
func (r *metricReader) emit(ch chan<- prometheus.Metric, all []*series) {
	for _, s := range all {
		if r.m.kind == kindHistogram {
			buckets := make(map[float64]uint64, len(r.bounds))
			var cum uint64
			for i, b := range r.bounds {
				cum += s.counts[i]
				buckets[b] = cum
			}
			ch <- prometheus.MustNewConstHistogram(r.desc, s.total, s.sum, buckets, s.labels...)
			continue
		}
		if s.pairs == nil {
			s.pairs = prometheus.MakeLabelPairs(r.desc, s.labels)
		}
		ch <- &sample{desc: r.desc, pairs: s.pairs, value: s.value, gauge: r.valueType == prometheus.GaugeValue}
	}
}

// sample is one counter or gauge value of a scrape. It shares its series'
// label pairs, made once (prometheus.MustNewConstMetric would make them
// again for every series of every scrape); the registry only reads them.
type sample struct {
	desc  *prometheus.Desc
	pairs []*dto.LabelPair
	value float64
	gauge bool
}

// Desc returns the metric's description.
func (s *sample) Desc() *prometheus.Desc { return s.desc }

// Write fills m with the sample.
func (s *sample) Write(m *dto.Metric) error {
	m.Label = s.pairs
	v := s.value
	if s.gauge {
		m.Gauge = &dto.Gauge{Value: &v}
	} else {
		m.Counter = &dto.Counter{Value: &v}
	}
	return nil
}

// sortSeries sorts series as the registry's Gather sorts metrics (label
// values in label-name order): its sort then finds them in order, which
// for a table of 100k entries saves a sixth of the scrape.
func (r *metricReader) sortSeries(all []*series) {
	order := r.sortOrder()
	slices.SortFunc(all, func(a, b *series) int {
		for _, i := range order {
			if c := strings.Compare(a.labels[i], b.labels[i]); c != 0 {
				return c
			}
		}
		return 0
	})
}

// sortOrder is the label indexes in label-name order.
func (r *metricReader) sortOrder() []int {
	names := r.labelNames()
	order := make([]int, len(names))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(names[a], names[b]) })
	return order
}

// eventCounter counts events of a perf or ring buffer by their labels, in
// user space; its series live until the program is closed.
type eventCounter struct {
	r  *metricReader
	mu sync.Mutex
	a  *aggregator
}

func newEventCounter(r *metricReader) *eventCounter {
	return &eventCounter{r: r, a: newAggregator(r, 64)}
}

// count adds one event.
func (c *eventCounter) count(ev value, self *selfMetrics) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.a.find(ev, -1)
	if s != nil {
		if c.r.hasValue {
			s.value += numeric(pathValue(ev, c.r.valuePath))
		} else {
			s.value++
		}
	}
	if c.a.dropped > 0 || c.a.errs != nil {
		c.a.report(self)
		c.a.dropped, c.a.errs = 0, nil
	}
}

func (c *eventCounter) family() *dto.MetricFamily {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.r.sortSeries(c.a.order)
	return c.r.family(c.a.order)
}

func (c *eventCounter) collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.r.sortSeries(c.a.order)
	c.r.emit(ch, c.a.order)
}

// selfMetrics are the exporter's own metrics.
type selfMetrics struct {
	programs       prometheus.Gauge
	compileErrors  *prometheus.CounterVec
	attachErrors   *prometheus.CounterVec
	scrapeDuration *prometheus.GaugeVec
	readErrors     *prometheus.CounterVec
	decoderErrors  *prometheus.CounterVec
	dropped        *prometheus.CounterVec
	lostEvents     *prometheus.CounterVec
	events         *prometheus.CounterVec
}

func newSelfMetrics(regs ...prometheus.Registerer) *selfMetrics {
	const ns = "gobcc_exporter"
	s := &selfMetrics{
		programs: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "programs_enabled",
			Help: "Programs compiled, attached and exported."}),
		compileErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "compile_errors_total",
			Help: "Programs that failed to compile or load, or whose configuration did not fit them."}, []string{"program"}),
		attachErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "attach_errors_total",
			Help: "Programs that failed to attach."}, []string{"program"}),
		scrapeDuration: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "scrape_duration_seconds",
			Help: "Time the last scrape took to read and decode a program's tables."}, []string{"program"}),
		readErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "table_read_errors_total",
			Help: "Scrapes that could not read a metric's table."}, []string{"metric"}),
		decoderErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "decoder_errors_total",
			Help: "Entries left out because a label decoder failed."}, []string{"metric", "decoder"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "series_dropped_total",
			Help: "Entries left out because their metric reached max_series."}, []string{"metric"}),
		lostEvents: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "lost_events_total",
			Help: "Events the kernel dropped because a perf or ring buffer was full."}, []string{"program", "table"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "events_total",
			Help: "Events read from perf and ring buffers."}, []string{"program", "table"}),
	}
	for _, r := range regs {
		r.MustRegister(s.programs, s.compileErrors, s.attachErrors, s.scrapeDuration, s.readErrors,
			s.decoderErrors, s.dropped, s.lostEvents, s.events)
	}
	return s
}
