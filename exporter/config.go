package exporter

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ErrConfig is wrapped by every error about a configuration file: bad YAML,
// an unknown field, a table or struct field the program does not have, a
// decoder that cannot read the field's type.
var ErrConfig = errors.New("invalid exporter configuration")

// ConfigError is a configuration mistake with the place it was found.
type ConfigError struct {
	// File is the configuration file ("" when it was given as bytes).
	File string
	// Line is the 1-based line of the offending YAML node, 0 when unknown.
	Line int
	// Field names the configuration field, e.g. "metrics.counters[0].table".
	Field string
	// Err is the cause.
	Err error
}

// Error reads "file:line: field: cause".
func (e *ConfigError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:", e.Line)
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the cause.
func (e *ConfigError) Unwrap() error { return e.Err }

// Is makes every ConfigError match ErrConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrConfig }

// Config is one program's exporter configuration: the metrics read from its
// tables. It follows cloudflare/ebpf_exporter's schema where it fits, but
// labels name fields of the table's key (gobcc knows the key's C type)
// instead of byte sizes.
type Config struct {
	// Metrics are the program's metrics by kind.
	Metrics Metrics `yaml:"metrics"`

	file string
	pos  position
}

// Metrics lists counters, gauges and histograms.
type Metrics struct {
	// Counters read a table at scrape time (hash or array: key fields
	// become labels, the leaf is the value) or count events of a
	// BPF_PERF_OUTPUT or BPF_RINGBUF_OUTPUT table (event fields become
	// labels; counted in user space).
	Counters []Metric `yaml:"counters"`
	// Gauges are read like table counters but typed as gauges.
	Gauges []Metric `yaml:"gauges"`
	// Histograms read BCC histogram tables: one key field (or the whole
	// integer key) is the slot, the others are labels.
	Histograms []Metric `yaml:"histograms"`

	pos position
}

// Bucket types of histograms.
const (
	// BucketExp2 is BCC's log2 histogram (bpf_log2l, BPF_HISTOGRAM with
	// dist.increment(bpf_log2l(v))): slot 0 holds 0, slot i>0 holds
	// [2^(i-1), 2^i-1]; its upper bound is (2^i - 1) × multiplier.
	BucketExp2 = "exp2"
	// BucketLinear is a linear histogram: slot i's upper bound is
	// i × multiplier.
	BucketLinear = "linear"
	// BucketFixed uses bucket_keys: slot values that are upper bounds
	// themselves (times multiplier).
	BucketFixed = "fixed"
)

// Per-CPU handling of per-CPU tables.
const (
	// PerCPUSum adds the CPUs' values (the default).
	PerCPUSum = "sum"
	// PerCPULabel adds a "cpu" label and keeps each CPU's value.
	PerCPULabel = "label"
)

// DefaultMaxSeries is the series limit of a metric without max_series.
const DefaultMaxSeries = 10000

// Metric is one counter, gauge or histogram.
type Metric struct {
	// Name is the Prometheus metric name, used as given.
	Name string `yaml:"name"`
	// Help is the metric's HELP text; default "NAME from table TABLE".
	Help string `yaml:"help"`
	// Table is the BCC table (map) name.
	Table string `yaml:"table"`
	// Value is the leaf's (or event's) struct field holding the value; empty:
	// the whole leaf, which must be an integer. Event counters: empty
	// counts events, a field adds its value (bytes, say).
	Value string `yaml:"value"`
	// PerCPU is "sum" (default) or "label" for per-CPU tables.
	PerCPU string `yaml:"per_cpu"`
	// MaxSeries bounds the metric's series per scrape (default
	// DefaultMaxSeries); the excess is dropped and counted in
	// gobcc_exporter_series_dropped_total.
	MaxSeries int `yaml:"max_series"`
	// Labels name key (or event) fields and how to decode them.
	Labels []Label `yaml:"labels"`

	// BucketType is exp2 (default), linear or fixed (histograms only).
	BucketType string `yaml:"bucket_type"`
	// BucketMin and BucketMax bound the slots exported (histograms only);
	// default 0 and the table's last slot (at most 64 for exp2).
	BucketMin *int `yaml:"bucket_min"`
	BucketMax *int `yaml:"bucket_max"`
	// BucketMultiplier scales bucket bounds and the sum (e.g. 1e-6 for µs
	// slots exported as seconds); default 1.
	BucketMultiplier *float64 `yaml:"bucket_multiplier"`
	// BucketKeys are the slot values of a fixed histogram.
	BucketKeys []float64 `yaml:"bucket_keys"`
	// BucketField is the key field holding the slot; default: the whole
	// integer key, or the key struct's field named "slot".
	BucketField string `yaml:"bucket_field"`
	// SumSlot, when set, is a slot that holds the sum of observed values
	// (ebpf_exporter's bucket_max+1 convention); without it the sum is
	// estimated from each slot's lower bound.
	SumSlot *int `yaml:"sum_slot"`

	kind metricKind
	path string
	pos  position
}

// Label is one label of a metric.
type Label struct {
	// Name is the Prometheus label name.
	Name string `yaml:"name"`
	// Field is the key's (or event's) struct field, dotted for nested
	// structs ("addr.port"); empty: the whole key, when it is a scalar.
	Field string `yaml:"field"`
	// Decoders turn the field into the label's text, each one taking the
	// previous one's output; without decoders integers print in decimal,
	// char arrays as strings.
	Decoders []Decoder `yaml:"decoders"`

	path string
	pos  position
}

// Decoder names.
const (
	DecoderKsym       = "ksym"
	DecoderKstack     = "kstack"
	DecoderUsym       = "usym"
	DecoderUstack     = "ustack"
	DecoderInetIP     = "inet_ip"
	DecoderString     = "string"
	DecoderStaticMap  = "static_map"
	DecoderRegexp     = "regexp"
	DecoderErrno      = "errno"
	DecoderSyscall    = "syscall"
	DecoderUint       = "uint"
	DecoderHex        = "hex"
	DecoderCgroup     = "cgroup"
	DecoderIfname     = "ifname"
	DecoderMajorMinor = "majorminor"
)

// Decoder is one step turning a field into label text.
type Decoder struct {
	// Name is one of the Decoder* names.
	Name string `yaml:"name"`
	// StaticMap maps input text to output text (static_map).
	StaticMap map[string]string `yaml:"static_map"`
	// AllowUnknown keeps input missing from StaticMap as it is; without it
	// such a series is dropped and counted as a decoder error.
	AllowUnknown bool `yaml:"allow_unknown"`
	// Regexps keep input matching one of them (regexp); others are
	// dropped. A regexp with a capture group keeps the first group.
	Regexps []string `yaml:"regexps"`
	// StackTable is the BPF_STACK_TRACE table of kstack and ustack.
	StackTable string `yaml:"stack_table"`
	// PIDField is the key field with the process id for usym and ustack.
	PIDField string `yaml:"pid_field"`

	path string
	pos  position
}

var decoderNames = []string{
	DecoderKsym, DecoderKstack, DecoderUsym, DecoderUstack, DecoderInetIP, DecoderString,
	DecoderStaticMap, DecoderRegexp, DecoderErrno, DecoderSyscall, DecoderUint, DecoderHex,
	DecoderCgroup, DecoderIfname, DecoderMajorMinor,
}

type metricKind int

const (
	kindCounter metricKind = iota
	kindGauge
	kindHistogram
)

func (k metricKind) String() string {
	return [...]string{"counter", "gauge", "histogram"}[k]
}

// position records where a mapping and each of its keys were written.
type position struct {
	line int
	keys map[string]int
}

// at is the line of key, or of the mapping when the key is absent.
func (p position) at(key string) int {
	if l, ok := p.keys[key]; ok {
		return l
	}
	return p.line
}

// decodeStrict decodes a mapping node into v (a pointer to a struct with
// yaml tags), rejecting keys the struct does not have, and returns where
// the keys were.
func decodeStrict(n *yaml.Node, v any, what string) (position, error) {
	p := position{line: n.Line, keys: map[string]int{}}
	if n.Kind != yaml.MappingNode {
		return p, &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s must be a mapping", n.Line, what)}}
	}
	known := yamlKeys(reflect.TypeOf(v).Elem())
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !slices.Contains(known, k.Value) {
			return p, &unknownFieldError{line: k.Line, field: k.Value, what: what, known: known}
		}
		p.keys[k.Value] = k.Line
	}
	return p, n.Decode(v)
}

type unknownFieldError struct {
	line  int
	field string
	what  string
	known []string
}

func (e *unknownFieldError) Error() string {
	return fmt.Sprintf("unknown field %q in %s (known: %s)", e.field, e.what, strings.Join(e.known, ", "))
}

func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag != "" && tag != "-" {
			keys = append(keys, tag)
		}
	}
	return keys
}

// UnmarshalYAML decodes a configuration, rejecting unknown fields.
func (c *Config) UnmarshalYAML(n *yaml.Node) error {
	type plain Config
	p, err := decodeStrict(n, (*plain)(c), "the configuration")
	c.pos = p
	return err
}

// UnmarshalYAML decodes the metrics section, rejecting unknown fields.
func (m *Metrics) UnmarshalYAML(n *yaml.Node) error {
	type plain Metrics
	p, err := decodeStrict(n, (*plain)(m), "metrics")
	m.pos = p
	return err
}

// UnmarshalYAML decodes a metric, rejecting unknown fields.
func (m *Metric) UnmarshalYAML(n *yaml.Node) error {
	type plain Metric
	p, err := decodeStrict(n, (*plain)(m), "a metric")
	m.pos = p
	return err
}

// UnmarshalYAML decodes a label, rejecting unknown fields.
func (l *Label) UnmarshalYAML(n *yaml.Node) error {
	type plain Label
	p, err := decodeStrict(n, (*plain)(l), "a label")
	l.pos = p
	return err
}

// UnmarshalYAML decodes a decoder, rejecting unknown fields. A plain
// string is a decoder without options ("- ksym").
func (d *Decoder) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		d.Name = n.Value
		d.pos = position{line: n.Line, keys: map[string]int{"name": n.Line}}
		return nil
	}
	type plain Decoder
	p, err := decodeStrict(n, (*plain)(d), "a decoder")
	d.pos = p
	return err
}

// LoadConfig reads and checks a configuration file. It checks everything
// that does not need the program (names, decoders, bucket settings); the
// tables are checked when the program is compiled, before it is attached.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &ConfigError{File: path, Err: err}
	}
	return ParseConfig(path, data)
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// ParseConfig parses and checks configuration text; file names it in
// errors. The Config belongs to the caller; AddProgram only reads it.
func ParseConfig(file string, data []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&c); err != nil {
		var unknown *unknownFieldError
		if errors.As(err, &unknown) {
			return nil, &ConfigError{File: file, Line: unknown.line, Field: unknown.field, Err: unknown}
		}
		line := 0
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		return nil, &ConfigError{File: file, Line: line, Err: err}
	}
	c.file = file
	if err := c.check(); err != nil {
		return nil, err
	}
	return &c, nil
}

var metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// metrics lists every metric with its kind and path set.
func (c *Config) metrics() []*Metric {
	var all []*Metric
	for kind, list := range [][]Metric{c.Metrics.Counters, c.Metrics.Gauges, c.Metrics.Histograms} {
		section := [...]string{"counters", "gauges", "histograms"}[kind]
		for i := range list {
			m := &list[i]
			m.kind = metricKind(kind)
			m.path = fmt.Sprintf("metrics.%s[%d]", section, i)
			for j := range m.Labels {
				l := &m.Labels[j]
				l.path = fmt.Sprintf("%s.labels[%d]", m.path, j)
				for k := range l.Decoders {
					l.Decoders[k].path = fmt.Sprintf("%s.decoders[%d]", l.path, k)
				}
			}
			all = append(all, m)
		}
	}
	return all
}

func (c *Config) errorf(line int, field, format string, args ...any) error {
	return &ConfigError{File: c.file, Line: line, Field: field, Err: fmt.Errorf(format, args...)}
}

// check validates what can be checked without the program.
func (c *Config) check() error {
	all := c.metrics()
	if len(all) == 0 {
		return c.errorf(c.pos.line, "metrics", "no metrics configured")
	}
	seen := map[string]bool{}
	for _, m := range all {
		if !metricName.MatchString(m.Name) {
			return c.errorf(m.pos.at("name"), m.path+".name", "%q is not a Prometheus metric name", m.Name)
		}
		if seen[m.Name] {
			return c.errorf(m.pos.at("name"), m.path+".name", "metric %q configured twice", m.Name)
		}
		seen[m.Name] = true
		if m.Table == "" {
			return c.errorf(m.pos.line, m.path+".table", "missing: name the BCC table to read")
		}
		if m.MaxSeries < 0 {
			return c.errorf(m.pos.at("max_series"), m.path+".max_series", "must not be negative")
		}
		switch m.PerCPU {
		case "", PerCPUSum, PerCPULabel:
		default:
			return c.errorf(m.pos.at("per_cpu"), m.path+".per_cpu", "%q: want sum or label", m.PerCPU)
		}
		if m.kind != kindHistogram {
			for _, k := range []string{"bucket_type", "bucket_min", "bucket_max", "bucket_multiplier", "bucket_keys", "bucket_field", "sum_slot"} {
				if _, ok := m.pos.keys[k]; ok {
					return c.errorf(m.pos.at(k), m.path+"."+k, "only histograms have buckets")
				}
			}
		} else {
			if err := c.checkBuckets(m); err != nil {
				return err
			}
		}
		labels := map[string]bool{}
		for i := range m.Labels {
			l := &m.Labels[i]
			if !labelName.MatchString(l.Name) || strings.HasPrefix(l.Name, "__") || l.Name == "le" {
				return c.errorf(l.pos.at("name"), l.path+".name", "%q is not a usable label name", l.Name)
			}
			if labels[l.Name] || (l.Name == "cpu" && m.PerCPU == PerCPULabel) {
				return c.errorf(l.pos.at("name"), l.path+".name", "label %q used twice", l.Name)
			}
			labels[l.Name] = true
			for j := range l.Decoders {
				if err := c.checkDecoder(&l.Decoders[j]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (c *Config) checkBuckets(m *Metric) error {
	switch m.BucketType {
	case "":
		m.BucketType = BucketExp2
	case BucketExp2, BucketLinear:
		if len(m.BucketKeys) > 0 {
			return c.errorf(m.pos.at("bucket_keys"), m.path+".bucket_keys", "only fixed histograms have bucket_keys")
		}
	case BucketFixed:
		if len(m.BucketKeys) == 0 {
			return c.errorf(m.pos.at("bucket_type"), m.path+".bucket_keys", "a fixed histogram needs bucket_keys")
		}
		if !slices.IsSorted(m.BucketKeys) {
			return c.errorf(m.pos.at("bucket_keys"), m.path+".bucket_keys", "must be sorted")
		}
	default:
		return c.errorf(m.pos.at("bucket_type"), m.path+".bucket_type", "%q: want exp2, linear or fixed", m.BucketType)
	}
	if m.BucketMin != nil && *m.BucketMin < 0 {
		return c.errorf(m.pos.at("bucket_min"), m.path+".bucket_min", "must not be negative")
	}
	if m.BucketMin != nil && m.BucketMax != nil && *m.BucketMax < *m.BucketMin {
		return c.errorf(m.pos.at("bucket_max"), m.path+".bucket_max", "below bucket_min")
	}
	if m.BucketType == BucketExp2 && m.BucketMax != nil && *m.BucketMax > 64 {
		return c.errorf(m.pos.at("bucket_max"), m.path+".bucket_max", "exp2 slots stop at 64")
	}
	if m.BucketMultiplier != nil && !(*m.BucketMultiplier > 0) {
		return c.errorf(m.pos.at("bucket_multiplier"), m.path+".bucket_multiplier", "must be positive")
	}
	if m.Value != "" {
		return c.errorf(m.pos.at("value"), m.path+".value", "histogram slots hold counts: value does not apply")
	}
	return nil
}

func (c *Config) checkDecoder(d *Decoder) error {
	if !slices.Contains(decoderNames, d.Name) {
		return c.errorf(d.pos.at("name"), d.path+".name", "unknown decoder %q (known: %s)", d.Name, strings.Join(decoderNames, ", "))
	}
	need := map[string]bool{}
	switch d.Name {
	case DecoderStaticMap:
		if d.StaticMap == nil {
			return c.errorf(d.pos.line, d.path+".static_map", "static_map decoder needs a static_map")
		}
		need["static_map"], need["allow_unknown"] = true, true
	case DecoderRegexp:
		if len(d.Regexps) == 0 {
			return c.errorf(d.pos.line, d.path+".regexps", "regexp decoder needs regexps")
		}
		for _, r := range d.Regexps {
			if _, err := regexp.Compile(r); err != nil {
				return &ConfigError{File: c.file, Line: d.pos.at("regexps"), Field: d.path + ".regexps", Err: err}
			}
		}
		need["regexps"] = true
	case DecoderKstack:
		if d.StackTable == "" {
			return c.errorf(d.pos.line, d.path+".stack_table", "kstack decoder needs stack_table")
		}
		need["stack_table"] = true
	case DecoderUstack:
		if d.StackTable == "" || d.PIDField == "" {
			return c.errorf(d.pos.line, d.path, "ustack decoder needs stack_table and pid_field")
		}
		need["stack_table"], need["pid_field"] = true, true
	case DecoderUsym:
		if d.PIDField == "" {
			return c.errorf(d.pos.line, d.path+".pid_field", "usym decoder needs pid_field")
		}
		need["pid_field"] = true
	}
	for k, line := range d.pos.keys {
		if k != "name" && !need[k] {
			return c.errorf(line, d.path+"."+k, "does not apply to the %s decoder", d.Name)
		}
	}
	return nil
}
