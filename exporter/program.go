package exporter

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// labelReader makes one label's text from a key or event.
type labelReader struct {
	name     string
	path     []int
	decoders []decodeFunc
	names    []string // decoder names, for error metrics
}

// read returns the label text; errDrop when a regexp decoder rejected it.
func (l *labelReader) read(root value) (string, error) {
	v := pathValue(root, l.path)
	if len(l.decoders) == 0 {
		return defaultText(v), nil
	}
	in := decoderInput{v: v, root: root}
	var s string
	for i, d := range l.decoders {
		var err error
		s, err = d(in)
		if err != nil {
			if errors.Is(err, errDrop) {
				return "", err
			}
			return "", &labelError{decoder: l.names[i], err: err}
		}
		in = decoderInput{s: s, root: root}
	}
	return s, nil
}

type labelError struct {
	decoder string
	err     error
}

func (e *labelError) Error() string { return e.decoder + " decoder: " + e.err.Error() }
func (e *labelError) Unwrap() error { return e.err }

// metricReader is a checked metric, ready to read its table.
type metricReader struct {
	m         *Metric
	desc      *prometheus.Desc
	help      string
	table     *tableDesc
	labels    []*labelReader
	valuePath []int // nil with countEvents
	hasValue  bool  // events: add a field instead of counting
	cpuLabel  bool
	maxSeries int
	valueType prometheus.ValueType

	// Histograms.
	slotPath   []int
	slotMin    int
	slotMax    int
	bounds     []float64 // upper bound of slot slotMin+i (or fixed bucket i)
	fixedIndex map[uint64]int
	sumSlot    int // -1 without
	lower      func(slot uint64) float64

	stateMu sync.Mutex
	state   *tableState // table metrics, from the first scrape
}

// checkConfig checks a configuration against a compiled program's tables
// and builds the readers. Nothing is attached yet.
func checkConfig(c *Config, tables map[string]*tableDesc, env *decoderEnv) ([]*metricReader, error) {
	var readers []*metricReader
	for _, m := range c.metrics() {
		r, err := c.newReader(m, tables, env)
		if err != nil {
			return nil, err
		}
		readers = append(readers, r)
	}
	return readers, nil
}

func tableNames(tables map[string]*tableDesc, class tableClass) string {
	var names []string
	for n, d := range tables {
		if d.class == class {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// resolvePath finds a dotted field path in t.
func resolvePath(t *ctype, field string) ([]int, *ctype, error) {
	if field == "" {
		return nil, t, nil
	}
	var path []int
	for part := range strings.SplitSeq(field, ".") {
		if k := kindOf(t); k != kindStruct && k != kindUnion {
			return nil, nil, fmt.Errorf("%q: %s is not a struct", field, t)
		}
		i, ok := fieldIndex(t, part)
		if !ok {
			var names []string
			for _, f := range t.Fields {
				names = append(names, f.Name)
			}
			return nil, nil, fmt.Errorf("no field %q in %s (fields: %s)", part, t, strings.Join(names, ", "))
		}
		path = append(path, i)
		t = t.Fields[i].Type
	}
	return path, t, nil
}

func (c *Config) newReader(m *Metric, tables map[string]*tableDesc, env *decoderEnv) (*metricReader, error) {
	d, ok := tables[m.Table]
	if !ok {
		return nil, c.errorf(m.pos.at("table"), m.path+".table", "the program has no table %q (tables: %s)", m.Table, tableNames(tables, classRead)+"; events: "+tableNames(tables, classEvents))
	}
	r := &metricReader{m: m, table: d, maxSeries: m.MaxSeries, sumSlot: -1, valueType: prometheus.CounterValue}
	if r.maxSeries == 0 {
		r.maxSeries = DefaultMaxSeries
	}
	if m.kind == kindGauge {
		r.valueType = prometheus.GaugeValue
	}
	var root *ctype // what labels read
	switch d.class {
	case classRead:
		root = d.key
	case classEvents:
		if m.kind != kindCounter {
			return nil, c.errorf(m.pos.at("table"), m.path+".table", "%s is an events table (%s): only counters count events", m.Table, d.typeName)
		}
		if d.event == nil {
			return nil, &ConfigError{File: c.file, Line: m.pos.at("table"), Field: m.path + ".table",
				Err: fmt.Errorf("events of %s have no known struct type: %w", m.Table, d.eventErr)}
		}
		root = d.event
	default:
		return nil, c.errorf(m.pos.at("table"), m.path+".table", "%s is a %s table: metrics read hash and array tables or count events of perf and ring buffers", m.Table, d.typeName)
	}
	if m.PerCPU == PerCPULabel {
		if !d.perCPU {
			return nil, c.errorf(m.pos.at("per_cpu"), m.path+".per_cpu", "%s is not a per-CPU table", m.Table)
		}
		r.cpuLabel = true
	}
	// The value.
	if d.class == classEvents {
		if m.Value != "" {
			path, t, err := resolvePath(root, m.Value)
			if err != nil {
				return nil, c.wrap(m.pos.at("value"), m.path+".value", err)
			}
			if !isInteger(t) && kindOf(t) != "float" {
				return nil, c.errorf(m.pos.at("value"), m.path+".value", "%s is %s, not a number", m.Value, t)
			}
			r.valuePath, r.hasValue = path, true
		}
	} else if m.kind != kindHistogram {
		path, t, err := resolvePath(d.leaf, m.Value)
		if err != nil {
			return nil, c.wrap(m.pos.at("value"), m.path+".value", err)
		}
		if !isInteger(t) && kindOf(t) != "float" {
			what := "the leaf"
			if m.Value != "" {
				what = m.Value
			}
			return nil, c.errorf(m.pos.at("value"), m.path+".value", "%s of %s is %s, not a number: name a numeric field with value", what, m.Table, t)
		}
		r.valuePath = path
	}
	// Histogram slots.
	var slotField string
	if m.kind == kindHistogram {
		if !isInteger(d.leaf) {
			return nil, c.errorf(m.pos.at("table"), m.path+".table", "histogram table %s has %s values, not integer counts", m.Table, d.leaf)
		}
		slotField = m.BucketField
		if slotField == "" && !isInteger(root) {
			if _, ok := fieldIndex(root, "slot"); !ok {
				return nil, c.errorf(m.pos.line, m.path+".bucket_field", "the key of %s is %s: name its slot field with bucket_field", m.Table, root)
			}
			slotField = "slot"
		}
		path, t, err := resolvePath(root, slotField)
		if err != nil {
			return nil, c.wrap(m.pos.at("bucket_field"), m.path+".bucket_field", err)
		}
		if !isInteger(t) {
			return nil, c.errorf(m.pos.at("bucket_field"), m.path+".bucket_field", "slot field is %s, not an integer", t)
		}
		r.slotPath = path
		if err := c.buckets(m, d, r); err != nil {
			return nil, err
		}
	}
	// Labels.
	var names []string
	for i := range m.Labels {
		l := &m.Labels[i]
		if m.kind == kindHistogram && l.Field == slotField {
			return nil, c.errorf(l.pos.at("field"), l.path+".field", "%q is the histogram's slot, not a label", slotField)
		}
		path, t, err := resolvePath(root, l.Field)
		if err != nil {
			return nil, c.wrap(l.pos.at("field"), l.path+".field", err)
		}
		if l.Field == "" {
			if k := kindOf(t); k == kindStruct || k == kindUnion {
				return nil, c.errorf(l.pos.line, l.path+".field", "the key of %s is %s: name one of its fields", m.Table, t)
			}
		}
		lr := &labelReader{name: l.Name, path: path}
		for j := range l.Decoders {
			dec := &l.Decoders[j]
			if j == 0 {
				if err := checkFirstDecoder(dec, t); err != nil {
					return nil, c.wrap(dec.pos.at("name"), dec.path+".name", fmt.Errorf("field %q: %w", l.Field, err))
				}
			}
			var pidPath []int
			if dec.StackTable != "" {
				st, ok := tables[dec.StackTable]
				if !ok || st.class != classStack {
					return nil, c.errorf(dec.pos.at("stack_table"), dec.path+".stack_table", "no BPF_STACK_TRACE table %q (stack tables: %s)", dec.StackTable, tableNames(tables, classStack))
				}
			}
			if dec.PIDField != "" {
				p, pt, err := resolvePath(root, dec.PIDField)
				if err != nil {
					return nil, c.wrap(dec.pos.at("pid_field"), dec.path+".pid_field", err)
				}
				if !isInteger(pt) {
					return nil, c.errorf(dec.pos.at("pid_field"), dec.path+".pid_field", "%s is %s, not an integer", dec.PIDField, pt)
				}
				pidPath = p
			}
			fn, err := newDecoder(dec, env, pidPath)
			if err != nil {
				return nil, c.wrap(dec.pos.at("name"), dec.path+".name", err)
			}
			lr.decoders = append(lr.decoders, fn)
			lr.names = append(lr.names, dec.Name)
		}
		r.labels = append(r.labels, lr)
		names = append(names, l.Name)
	}
	if r.cpuLabel {
		names = append(names, "cpu")
	}
	help := m.Help
	if help == "" {
		help = fmt.Sprintf("%s from BCC table %s", m.Name, m.Table)
	}
	r.help = help
	r.desc = prometheus.NewDesc(m.Name, help, names, nil)
	return r, nil
}

func (c *Config) wrap(line int, field string, err error) error {
	return &ConfigError{File: c.file, Line: line, Field: field, Err: err}
}

// buckets sets a histogram's slot range and bounds.
func (c *Config) buckets(m *Metric, d *tableDesc, r *metricReader) error {
	mult := 1.0
	if m.BucketMultiplier != nil {
		mult = *m.BucketMultiplier
	}
	scale := scaler(mult)
	if m.SumSlot != nil {
		r.sumSlot = *m.SumSlot
	}
	if m.BucketType == BucketFixed {
		r.fixedIndex = map[uint64]int{}
		for i, k := range m.BucketKeys {
			if k < 0 || k != math.Trunc(k) {
				return c.errorf(m.pos.at("bucket_keys"), m.path+".bucket_keys", "%v is not a slot value (a non-negative integer)", k)
			}
			r.fixedIndex[uint64(k)] = i
			r.bounds = append(r.bounds, scale(k))
		}
		keys := m.BucketKeys
		r.lower = func(slot uint64) float64 {
			i := r.fixedIndex[slot]
			if i == 0 {
				return 0
			}
			return scale(keys[i-1])
		}
		return nil
	}
	r.slotMin = 0
	if m.BucketMin != nil {
		r.slotMin = *m.BucketMin
	}
	switch {
	case m.BucketMax != nil:
		r.slotMax = *m.BucketMax
	case d.array && len(r.slotPath) == 0:
		r.slotMax = d.maxEntries - 1
		if m.BucketType == BucketExp2 {
			r.slotMax = min(r.slotMax, 64)
		}
		if r.sumSlot == r.slotMax {
			r.slotMax--
		}
	case m.BucketType == BucketExp2:
		r.slotMax = 64
	default:
		return c.errorf(m.pos.line, m.path+".bucket_max", "a linear histogram keyed by a struct needs bucket_max")
	}
	if r.slotMax < r.slotMin {
		return c.errorf(m.pos.line, m.path+".bucket_max", "bucket_max %d is below bucket_min %d", r.slotMax, r.slotMin)
	}
	for s := r.slotMin; s <= r.slotMax; s++ {
		if m.BucketType == BucketExp2 {
			r.bounds = append(r.bounds, scale(exp2Upper(s)))
		} else {
			r.bounds = append(r.bounds, scale(float64(s)))
		}
	}
	if m.BucketType == BucketExp2 {
		r.lower = func(slot uint64) float64 {
			if slot == 0 {
				return 0
			}
			return scale(math.Ldexp(1, int(slot)-1))
		}
	} else {
		r.lower = func(slot uint64) float64 { return scale(float64(slot)) }
	}
	return nil
}

// scaler multiplies by mult, dividing by its inverse when that is an
// integer: 15 × 1e-6 is 1.4999999999999999e-05 in floating point, 15 / 1e6
// is 1.5e-05, and bucket bounds are label values people read.
func scaler(mult float64) func(float64) float64 {
	if inv := 1 / mult; inv > 1 && inv == math.Round(inv) {
		return func(x float64) float64 { return x / inv }
	}
	return func(x float64) float64 { return x * mult }
}

// exp2Upper is the largest integer BCC's log2 slot s holds: slot 0 holds
// 0, slot s>0 holds [2^(s-1), 2^s - 1] (bpf_log2l is floor(log2 v) + 1).
func exp2Upper(s int) float64 {
	if s == 0 {
		return 0
	}
	return math.Ldexp(1, s) - 1
}

// numeric reads an integer or floating-point value as float64.
func numeric(v value) float64 {
	switch kindOf(v.Type()) {
	case kindInt:
		return float64(v.Int64())
	case "float":
		return v.Float64()
	}
	return float64(v.Uint64())
}

// slotIndex is the bucket index of a slot, or -1 when it is above every
// bucket (counted only in +Inf); slots below bucket_min count in the first.
func (r *metricReader) slotIndex(slot uint64) int {
	if r.fixedIndex != nil {
		if i, ok := r.fixedIndex[slot]; ok {
			return i
		}
		return -1
	}
	if slot > uint64(r.slotMax) {
		return -1
	}
	return max(int(slot)-r.slotMin, 0)
}

// labelNames are the metric's label names in order.
func (r *metricReader) labelNames() []string {
	var names []string
	for _, l := range r.labels {
		names = append(names, l.name)
	}
	if r.cpuLabel {
		names = append(names, "cpu")
	}
	return slices.Clip(names)
}
