package events

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultMaxBatchDelay is how long, at most, a poll lets records gather in
// a busy ring before it reads them, unless the options say otherwise.
//
// Why batch at all: a reader that sleeps in epoll_wait whenever it has
// caught up is woken by the kernel for nearly every record once records
// arrive faster than a few thousand per second, and each wake-up costs
// 3-9 µs of CPU on both sides (an inter-processor interrupt, a context
// switch, epoll) — more than reading and decoding the record. On the
// 2-core test VM that alone held BCC Python and gobcc alike to 130k-240k
// records/s. A poll that sees records arriving fast waits briefly instead
// and reads them in one batch; a ring buffer's producer then skips its
// wake-ups too (the kernel wakes only a reader that has caught up).
const DefaultMaxBatchDelay = time.Millisecond

// DefaultFlushInterval is how often a waiting poll reads perf rings that
// have not woken it, when the kernel does not wake it for every record
// (a perf ring's WakeupEvents other than 1): the longest a lone record
// waits before its callback runs. After reads that find nothing the
// interval doubles, up to 8 times (80 ms by default), and it returns to
// the set value as soon as a read finds records. Measured idle for 10 s,
// a perf reader used 21 ms of CPU so (63 ms without the back-off, 1.6 ms
// with WakeupEvents 1, which needs no reads of its own).
const DefaultFlushInterval = 10 * time.Millisecond

// maxFlushBackoff: a quiet poller reads every flush << maxFlushBackoff.
const maxFlushBackoff = 3

// Pacing constants; see pacer.
const (
	// batchMinRate is the arrival rate (records/s) below which polls do
	// not batch: wake-ups are then too few to matter, and every record is
	// read as soon as the kernel reports it.
	batchMinRate = 5000
	// burstBytesPerSec is the fastest a ring is assumed to fill: a delay
	// never exceeds what the ring can absorb at this rate, so a burst that
	// starts while the reader waits does not overflow it. The fastest
	// single producer measured on the test VM (getpid + a tracepoint
	// program, 48-byte perf records) wrote about 29 MB/s.
	burstBytesPerSec = 32 << 20
	// batchFillDivisor: a batch may fill 1/batchFillDivisor of the
	// smallest ring at the measured rate; the rest absorbs jitter.
	batchFillDivisor = 4
	// spinFillDivisor is batchFillDivisor for waits on the CPU.
	spinFillDivisor = 16
	// rateDecay is how long the measured rate takes to fall to zero
	// once reads find nothing (see observe).
	rateDecay = 20 * time.Millisecond
	// minBatchDelay: waiting less than this saves nothing.
	minBatchDelay = 10 * time.Microsecond
	// spinBelowFill: when the smallest ring would fill in less than this
	// at the measured rate, the poll waits for its batch on the CPU
	// rather than asleep. A sleeping thread can wake late: on the test
	// VM (Firecracker), a vCPU that halts while its thread sleeps is
	// often resumed 2-3 ms late and once in a while 10 ms late (a C
	// program's ppoll shows the same), long enough for an 8-page perf
	// ring to overflow at 250k records/s. Spinning costs a CPU only while
	// records arrive that fast — where BCC Python's reader is already
	// busy all the time — and only with more than one CPU and GOMAXPROCS
	// above 1.
	spinBelowFill = 8 * time.Millisecond
)

// sourcePacing is what a ring tells the pacer about itself.
type sourcePacing struct {
	capacity int           // bytes
	maxDelay time.Duration // longest batching delay; 0: no batching
	flush    time.Duration // read at least this often while waiting; 0: no need
	noSpin   bool          // never wait on the CPU
}

// pacer decides how a poll waits. It measures the arrival rate from each
// read (records and bytes since the previous read) and, while records
// arrive faster than batchMinRate, asks the next poll to wait for a batch
// before reading: asleep, for up to a quarter of the time the smallest
// ring takes to fill, or, if that ring would fill within spinBelowFill,
// on the CPU for a sixteenth of it; never longer than the sources'
// limits. Once the rate has fallen below batchMinRate the next poll waits
// for the kernel's wake-up again.
type pacer struct {
	last  time.Time     // when the rings were last read
	delay time.Duration // the next poll's wait before reading; 0: none
	spin  bool          // wait on the CPU rather than asleep
	// The arrival rates acted on (per second; see observe), and the
	// last peak they fall from.
	recordRate, byteRate   float64
	peak                   time.Time
	peakRecords, peakBytes float64
	// The smallest capacity, delay limit and flush interval of the
	// poller's sources (0: none), recomputed as sources come and go.
	capacity int
	limit    time.Duration
	flush    time.Duration
	noSpin   bool // some source forbids waiting on the CPU
	// canSpin's answer and when it was asked: runtime.GOMAXPROCS takes
	// the scheduler's lock, too often to ask on every read.
	spinOK      bool
	spinChecked time.Time
	quiet       int // flush reads in a row that found nothing
}

// flushWait is how long a waiting poll may go without reading the rings
// (0: as long as it likes).
func (pc *pacer) flushWait() time.Duration {
	if pc.flush <= 0 {
		return 0
	}
	return pc.flush << min(pc.quiet, maxFlushBackoff)
}

// multiCPU: spinning needs a second CPU, for the producer (NumCPU counts
// the CPUs this process may run on).
var multiCPU = runtime.NumCPU() > 1

// spinAllowed is canSpin, asked at most once a second.
func (pc *pacer) spinAllowed(now time.Time) bool {
	if now.Sub(pc.spinChecked) >= time.Second || now.Before(pc.spinChecked) {
		pc.spinOK, pc.spinChecked = canSpin(), now
	}
	return pc.spinOK
}

// canSpin reports whether a poll may wait on the CPU: with one CPU, or
// one P for Go code, a spinning poll would take it from everything else.
func canSpin() bool { return multiCPU && runtime.GOMAXPROCS(0) > 1 }

// batchLimit is the longest delay a ring of capacity bytes allows under
// maxDelay (0: DefaultMaxBatchDelay; negative: no batching).
func batchLimit(capacity int, maxDelay time.Duration) time.Duration {
	if maxDelay < 0 || capacity <= 0 {
		return 0
	}
	if maxDelay == 0 {
		maxDelay = DefaultMaxBatchDelay
	}
	absorb := time.Duration(float64(capacity) / burstBytesPerSec * float64(time.Second))
	return min(maxDelay, absorb)
}

// setSources takes the tightest of every source's pacing.
func (pc *pacer) setSources(all []sourcePacing) {
	pc.capacity, pc.limit, pc.flush, pc.noSpin = 0, 0, 0, false
	for i, s := range all {
		pc.noSpin = pc.noSpin || s.noSpin
		if i == 0 || s.capacity < pc.capacity {
			pc.capacity = s.capacity
		}
		if i == 0 || s.maxDelay < pc.limit {
			pc.limit = s.maxDelay
		}
		if s.flush > 0 && (pc.flush == 0 || s.flush < pc.flush) {
			pc.flush = s.flush
		}
	}
	if pc.limit <= 0 {
		pc.delay, pc.spin = 0, false
	}
}

// observe records a read of records records (bytes bytes) at now and
// sets the next wait.
//
// The rate it acts on rises at once to what a read measured but falls
// only gradually, to zero rateDecay after its last peak, so that one
// short read (the producer paused, or the reader was late) does not end
// batching in the middle of a burst: erring towards a high rate only
// makes waits shorter.
func (pc *pacer) observe(now time.Time, records, bytes int) {
	elapsed := now.Sub(pc.last)
	pc.last = now
	pc.delay, pc.spin = 0, false
	if records > 0 {
		pc.quiet = 0
	}
	if elapsed <= 0 {
		return
	}
	// The rates fall linearly from the last peak to zero over rateDecay.
	keep := max(0, 1-float64(now.Sub(pc.peak))/float64(rateDecay))
	sec := elapsed.Seconds()
	recordRate, byteRate := float64(records)/sec, float64(bytes)/sec
	if recordRate >= pc.peakRecords*keep {
		pc.peak, pc.peakRecords, pc.peakBytes = now, recordRate, byteRate
	}
	keep = max(0, 1-float64(now.Sub(pc.peak))/float64(rateDecay))
	pc.recordRate, pc.byteRate = pc.peakRecords*keep, pc.peakBytes*keep
	if pc.limit <= 0 || pc.recordRate < batchMinRate || pc.byteRate <= 0 {
		return
	}
	fill := time.Duration(float64(pc.capacity) / pc.byteRate * float64(time.Second))
	pc.spin = !pc.noSpin && fill < spinBelowFill && pc.spinAllowed(now)
	if pc.spin {
		// On the CPU a wait costs no system call, so read often: the
		// emptier the ring, the longer a stall it survives.
		pc.delay = max(minBatchDelay, min(fill/spinFillDivisor, pc.limit))
	} else {
		pc.delay = max(minBatchDelay, min(fill/batchFillDivisor, pc.limit))
	}
}

// sleepOrWake waits for d or until fd (the poller's wake eventfd) is
// readable, with nanosecond resolution (epoll_wait counts milliseconds).
// It reports whether fd woke it.
func sleepOrWake(fd int, d time.Duration) (bool, error) {
	ts := unix.NsecToTimespec(d.Nanoseconds())
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Ppoll(fds, &ts, nil)
		if err == unix.EINTR {
			continue // rare; a slightly longer wait is harmless
		}
		if err != nil {
			return false, err
		}
		return n > 0, nil
	}
}

// spinUntil busy-waits until deadline or until stop reports true, and
// reports whether it stopped early.
func spinUntil(deadline time.Time, stop func() bool) bool {
	for time.Now().Before(deadline) {
		if stop() {
			return true
		}
	}
	return false
}
