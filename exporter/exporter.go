// Package exporter serves BCC programs' tables to Prometheus: the library
// behind "gobcc export".
//
// Each program is a BPF C file compiled through libbcc with a YAML
// configuration (LoadConfig) naming the metrics read from its tables. A
// metric of a hash or array table is read at scrape time with batch
// lookups; a counter of a perf or ring buffer counts events in user space.
// An Exporter holds the programs, is a prometheus.Collector source through
// Registry, and serves /metrics and /healthz through Handler. Close
// detaches and frees everything.
package exporter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/exporter/internal/gcpace"
)

// responseTimeout bounds one HTTP response of Serve; a scrape of a
// 100k-entry table takes well under a second.
const responseTimeout = time.Minute

// ErrClosed is returned by AddProgram after Close.
var ErrClosed = errors.New("exporter closed")

// Options configure an Exporter.
type Options struct {
	// Compile says how programs are compiled.
	Compile CompileOptions
	// Logger receives event-reader errors; default slog.Default().
	Logger *slog.Logger
	// NoProcessMetrics leaves out the Go runtime and process collectors
	// (go_*, process_*).
	NoProcessMetrics bool
}

// Exporter holds the exported programs and their metrics. Its methods are
// safe for concurrent use; the caller must Close it.
type Exporter struct {
	opts    Options
	log     *slog.Logger
	reg     *prometheus.Registry // everything, through the Collector path
	selfReg *prometheus.Registry // the exporter's own metrics and Go's
	self    *selfMetrics

	scrapeMu sync.Mutex    // one /metrics response at a time
	pacer    *gcpace.Pacer // returns scrapes' memory to the kernel

	mu       sync.Mutex
	programs []*program
	names    map[string]string // metric name -> program
	closed   bool
}

// New returns an Exporter with no programs. The caller owns it and must
// Close it, which detaches and frees every program added.
func New(opts Options) *Exporter {
	reg, selfReg := prometheus.NewRegistry(), prometheus.NewRegistry()
	if !opts.NoProcessMetrics {
		for _, r := range []*prometheus.Registry{reg, selfReg} {
			r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Exporter{opts: opts, log: log, reg: reg, selfReg: selfReg, self: newSelfMetrics(reg, selfReg),
		pacer: gcpace.New(releaseInterval, nil)}
}

// Registry is a registry holding every metric, the exporter's own
// included, each program as a prometheus.Collector (to embed the programs'
// metrics elsewhere). It belongs to the Exporter. Handler serves the same
// metrics through Gather, which is faster on large tables.
func (e *Exporter) Registry() *prometheus.Registry { return e.reg }

// program is one compiled and attached program with its metrics.
type program struct {
	name     string
	b        *bcc.BPF
	readers  []*metricReader
	counters []*eventCounter
	events   []*tableEvents
	self     *selfMetrics
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// AddProgram compiles src, checks cfg against its tables, attaches it and
// exports its metrics. name labels the exporter's own metrics. Errors:
// configuration mistakes wrap ErrConfig (as *ConfigError with line and
// field) and are found before anything is attached; compile and verifier
// errors are bcc's (*bcc.CompileError, *bcc.VerifierError). On error
// nothing of the program is left behind.
func (e *Exporter) AddProgram(name, src string, cfg *Config) (err error) {
	// Both error counters exist from the start, at 0, so that a rate()
	// over them sees the first error.
	e.self.compileErrors.WithLabelValues(name)
	e.self.attachErrors.WithLabelValues(name)
	e.mu.Lock()
	closed := e.closed
	var dup error
	for _, m := range cfg.metrics() {
		if other, ok := e.names[m.Name]; ok && dup == nil {
			dup = cfg.errorf(m.pos.at("name"), m.path+".name", "metric %q is already exported by program %s", m.Name, other)
		}
	}
	e.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if dup != nil {
		e.self.compileErrors.WithLabelValues(name).Inc()
		return fmt.Errorf("program %s: %w", name, dup)
	}
	b, err := compileProgram(src, e.opts.Compile)
	if err != nil {
		e.self.compileErrors.WithLabelValues(name).Inc()
		return fmt.Errorf("program %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	tables := describeTables(b)
	syms, err := newSymbols(b)
	if err != nil {
		e.self.compileErrors.WithLabelValues(name).Inc()
		return fmt.Errorf("program %s: kernel symbols: %w", name, err)
	}
	readers, err := checkConfig(cfg, tables, &decoderEnv{syms: syms, tables: tables})
	if err != nil {
		e.self.compileErrors.WithLabelValues(name).Inc()
		return fmt.Errorf("program %s: %w", name, err)
	}
	p := &program{name: name, b: b, self: e.self}
	byTable := map[*tableDesc][]*eventCounter{}
	for _, r := range readers {
		if r.table.class == classEvents {
			c := newEventCounter(r)
			p.counters = append(p.counters, c)
			byTable[r.table] = append(byTable[r.table], c)
		} else {
			p.readers = append(p.readers, r)
		}
	}
	// Event readers open before the program attaches, so that no event
	// is submitted with nowhere to go.
	for d, counters := range byTable {
		er, err := p.openEvents(d, counters)
		if err != nil {
			p.closeEvents()
			e.self.attachErrors.WithLabelValues(name).Inc()
			return fmt.Errorf("program %s: events of %s: %w", name, d.name, err)
		}
		p.events = append(p.events, er)
	}
	if _, err := attachProgram(b); err != nil {
		p.closeEvents()
		e.self.attachErrors.WithLabelValues(name).Inc()
		return fmt.Errorf("program %s: %w", name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	for _, er := range p.events {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.pollEvents(ctx, er, e.log)
		}()
	}
	if err := e.reg.Register(p); err != nil {
		p.stop()
		return fmt.Errorf("program %s: %w", name, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		e.reg.Unregister(p)
		p.stop()
		return ErrClosed
	}
	if e.names == nil {
		e.names = map[string]string{}
	}
	for _, r := range readers {
		if other, ok := e.names[r.m.Name]; ok {
			e.reg.Unregister(p)
			p.stop()
			e.self.compileErrors.WithLabelValues(name).Inc()
			return fmt.Errorf("program %s: %w", name, cfg.errorf(r.m.pos.at("name"), r.m.path+".name", "metric %q is already exported by program %s", r.m.Name, other))
		}
	}
	for _, r := range readers {
		e.names[r.m.Name] = name
	}
	e.programs = append(e.programs, p)
	e.self.programs.Set(float64(len(e.programs)))
	return nil
}

// tableEvents is an open events table with its counters.
type tableEvents struct {
	d      *tableDesc
	reader *eventReader
}

// openEvents opens d's reader; each record is decoded once and counted by
// every counter of the table.
func (p *program) openEvents(d *tableDesc, counters []*eventCounter) (*tableEvents, error) {
	lost := p.self.lostEvents.WithLabelValues(p.name, d.name)
	total := p.self.events.WithLabelValues(p.name, d.name)
	onData := func(data []byte) {
		v, err := decodeEvent(d.table, data)
		if err != nil {
			for _, c := range counters {
				p.self.decoderErrors.WithLabelValues(c.r.m.Name, "event").Inc()
			}
			return
		}
		total.Inc()
		for _, c := range counters {
			c.count(v, p.self)
		}
	}
	r, err := openEvents(d.table, onData, func(n uint64) { lost.Add(float64(n)) })
	if err != nil {
		return nil, err
	}
	return &tableEvents{d: d, reader: r}, nil
}

// pollEvents reads a table's events until ctx is done.
func (p *program) pollEvents(ctx context.Context, te *tableEvents, log *slog.Logger) {
	for ctx.Err() == nil {
		if _, err := te.reader.poll(100 * time.Millisecond); err != nil {
			if ctx.Err() == nil {
				log.Error("reading events stopped", "program", p.name, "table", te.d.name, "err", err)
			}
			return
		}
	}
}

// closeEvents closes the event readers (the pollers must have ended).
func (p *program) closeEvents() error {
	var errs []error
	for _, te := range p.events {
		errs = append(errs, te.reader.close())
	}
	p.events = nil
	return errors.Join(errs...)
}

// stop ends the event readers and closes the program (detaching it).
func (p *program) stop() error {
	p.cancel()
	p.wg.Wait()
	return errors.Join(p.closeEvents(), p.b.Close())
}

// Describe sends nothing: the program's metrics are unchecked, their
// descriptions known only from the configuration.
func (p *program) Describe(chan<- *prometheus.Desc) {}

// Collect reads the program's tables and sends their series.
func (p *program) Collect(ch chan<- prometheus.Metric) {
	start := time.Now()
	for _, r := range p.readers {
		r.collectTable(ch, p.self)
	}
	for _, c := range p.counters {
		c.collect(ch)
	}
	p.self.scrapeDuration.WithLabelValues(p.name).Set(time.Since(start).Seconds())
}

// Gather returns every metric family: the exporter's own and Go's from a
// registry, the programs' built directly from their tables (see
// metricReader.family), sorted by name. It implements prometheus.Gatherer.
func (e *Exporter) Gather() ([]*dto.MetricFamily, error) { return e.gather(false) }

// gather is Gather; with reuse, table metrics' families are built in the
// structures of the last scrape (the caller holds scrapeMu until they are
// encoded).
func (e *Exporter) gather(reuse bool) ([]*dto.MetricFamily, error) {
	mfs, err := e.selfReg.Gather()
	e.mu.Lock()
	programs := slices.Clone(e.programs)
	e.mu.Unlock()
	for _, p := range programs {
		mfs = append(mfs, p.families(reuse)...)
	}
	slices.SortFunc(mfs, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return mfs, err
}

// families reads the program's tables and returns their metric families.
func (p *program) families(reuse bool) []*dto.MetricFamily {
	start := time.Now()
	var mfs []*dto.MetricFamily
	for _, r := range p.readers {
		if mf := r.familyTable(p.self, reuse); mf != nil {
			mfs = append(mfs, mf)
		}
	}
	for _, c := range p.counters {
		if mf := c.family(); mf != nil {
			mfs = append(mfs, mf)
		}
	}
	p.self.scrapeDuration.WithLabelValues(p.name).Set(time.Since(start).Seconds())
	return mfs
}

// Programs returns the names of the programs exported.
func (e *Exporter) Programs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var names []string
	for _, p := range e.programs {
		names = append(names, p.name)
	}
	return names
}

// Close detaches every program, stops the event readers and frees the
// programs. It is idempotent.
func (e *Exporter) Close() error {
	e.mu.Lock()
	programs := e.programs
	e.programs = nil
	e.names = nil
	e.closed = true
	e.mu.Unlock()
	var errs []error
	for _, p := range programs {
		e.reg.Unregister(p)
		errs = append(errs, p.stop())
	}
	e.self.programs.Set(0)
	e.pacer.Stop()
	return errors.Join(errs...)
}

// releaseInterval is how often at most a scrape's freed memory is
// returned to the kernel (see gcpace): Prometheus scrapes every 15 to 60
// seconds, so every scrape but those of a benchmark gets its release.
const releaseInterval = 5 * time.Second

// withoutEscaping adds escaping=allow-utf-8 to every media range of an
// Accept header that names no escaping scheme. Every name the exporter
// serves is a legacy Prometheus name (LoadConfig checks metric and label
// names; its own are fixed), so escaping would change no byte of the
// exposition; but expfmt's default, underscore escaping (what Prometheus 2
// gets, naming none), first copies each family's list of metrics: 1.6 MB
// of garbage per scrape of a 100k-series table, which grew the heap and
// RSS over back-to-back scrapes. An empty header stays empty (plain text).
func withoutEscaping(accept string) string {
	if accept == "" {
		return ""
	}
	ranges := strings.Split(accept, ",")
	for i, r := range ranges {
		if !strings.Contains(r, model.EscapingKey+"=") {
			ranges[i] = strings.TrimSpace(r) + ";" + model.EscapingKey + "=" + model.AllowUTF8
		}
	}
	return strings.Join(ranges, ",")
}

// Handler serves /metrics (the registry, in every format Prometheus
// negotiates) and /healthz (200 while at least one program is exported,
// 503 otherwise).
func (e *Exporter) Handler() http.Handler {
	mux := http.NewServeMux()
	// Under scrapeMu (below), families reuse the last scrape's structures.
	shared := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return e.gather(true) })
	metrics := promhttp.HandlerFor(shared, promhttp.HandlerOpts{
		ErrorHandling:     promhttp.ContinueOnError,
		Registry:          e.selfReg,
		EnableOpenMetrics: true,
	})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		// One scrape at a time: a table metric keeps one set of buffers
		// and series, and concurrent scrapes of a 100k-entry table would
		// only hold several expositions in memory at once.
		e.scrapeMu.Lock()
		r.Header.Set("Accept", withoutEscaping(r.Header.Get("Accept")))
		metrics.ServeHTTP(w, r)
		e.scrapeMu.Unlock()
		e.pacer.Kick()
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if len(e.Programs()) == 0 {
			http.Error(w, "no programs exported", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "gobcc exporter: /metrics, /healthz")
	})
	return mux
}

// Serve serves Handler on ln until ctx is done, then shuts the server down
// (waiting up to five seconds for scrapes in progress). It does not close
// the Exporter. It closes ln.
func (e *Exporter) Serve(ctx context.Context, ln net.Listener) error {
	// WriteTimeout bounds a scrape whose client stops reading: it would
	// otherwise hold the scrape lock (see Handler) for good.
	srv := &http.Server{Handler: e.Handler(), ReadHeaderTimeout: 10 * time.Second, WriteTimeout: responseTimeout}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// ErrNoTable is returned by Table for a program or table the exporter does
// not hold.
var ErrNoTable = errors.New("no such program or table")

// Table returns a table of an exported program, for filling or inspecting
// it from Go (benchmarks, tests, programs that seed a table from user
// space). It stays valid until Close.
func (e *Exporter) Table(program, table string) (*bcc.Table, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.programs {
		if p.name == program {
			t, err := p.b.Table(table)
			if err != nil {
				return nil, fmt.Errorf("%w: program %s: %w", ErrNoTable, program, err)
			}
			return t, nil
		}
	}
	return nil, fmt.Errorf("%w: program %s", ErrNoTable, program)
}
