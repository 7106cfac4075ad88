package benchcmp

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// The user symbol rows: b.Sym against BPF.sym on the same addresses of
// the same kind of process, and the memory a warm symbol cache holds.

func init() {
	note := "Each side starts its own `sleep` process and resolves 300 addresses spread evenly over its libc text mapping " +
		"(libc's symbols plus its debug file when libc6-dbg is installed), with b.Sym vs BPF.sym (libbcc's bcc_symcache). "
	Register(Measurement{
		Name:      "sym",
		Group:     "symbols",
		Title:     "Sym lookups/s on a warm cache (libc addresses of a process)",
		Unit:      PerSecond,
		Gobcc:     measureSym,
		Python:    "sym.py",
		Args:      map[string]string{"what": "rate", "n": "200000", "python_n": "50000"},
		QuickArgs: map[string]string{"n": "2000", "python_n": "500"},
		Note: note + "Every address is resolved once (untimed), then n lookups cycle through them; BCC does python_n. " +
			"Both look at /proc/PID/exe on every lookup to notice an exec. scripts/bench_syms.sh compares the same in one process against a C test child.",
	})
	Register(Measurement{
		Name:   "sym/cache-memory",
		Group:  "symbols",
		Title:  "Memory a warm Sym cache adds to the process (RSS growth)",
		Unit:   Megabytes,
		Gobcc:  measureSym,
		Python: "sym.py",
		Args:   map[string]string{"what": "memory"},
		Note: note + "VmRSS after the first pass over the addresses minus VmRSS before it (gobcc returns freed heap to the OS with " +
			"debug.FreeOSMemory before each reading, so garbage left by parsing is not counted; libbcc's C caches and the ctypes objects are).",
	})
}

// ErrSymTarget means the process whose symbols the sym rows resolve did not
// come up as expected.
var ErrSymTarget = errors.New("symbol benchmark target")

// startSymTarget starts `sleep 1000` and waits until it sleeps, so that its
// libraries are mapped, as scripts/bench/benchlib.py's start_sym_target. It
// returns the process and its libc text mapping.
func startSymTarget() (cmd *exec.Cmd, start, end uint64, err error) {
	cmd = exec.Command("sleep", "1000")
	if err := cmd.Start(); err != nil {
		return nil, 0, 0, err
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	pid := cmd.Process.Pid
	for deadline := time.Now().Add(10 * time.Second); ; {
		if sleepingInNanosleep(pid) {
			break
		}
		if time.Now().After(deadline) {
			stop()
			return nil, 0, 0, fmt.Errorf("%w: sleep (pid %d) did not reach clock_nanosleep", ErrSymTarget, pid)
		}
		time.Sleep(time.Millisecond)
	}
	start, end, err = libcText(pid)
	if err != nil {
		stop()
		return nil, 0, 0, err
	}
	return cmd, start, end, nil
}

// sleepingInNanosleep reports whether pid is blocked in nanosleep or
// clock_nanosleep (x86-64 numbers 35 and 230): by then the dynamic loader
// has mapped every library.
func sleepingInNanosleep(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/syscall", pid))
	if err != nil {
		return false
	}
	nr, _, _ := strings.Cut(string(data), " ")
	return nr == "230" || nr == "35"
}

// libcText returns the bounds of pid's executable libc.so.6 mapping.
func libcText(pid int) (start, end uint64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[1] != "r-xp" || !strings.HasSuffix(fields[5], "/libc.so.6") {
			continue
		}
		lo, hi, _ := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err := errors.Join(err1, err2); err != nil {
			return 0, 0, fmt.Errorf("%w: maps line %q: %w", ErrSymTarget, sc.Text(), err)
		}
		return start, end, nil
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	return 0, 0, fmt.Errorf("%w: pid %d maps no libc.so.6 text", ErrSymTarget, pid)
}

// SymAddresses returns count addresses spread evenly over [start, end), as
// benchlib.py's sym_addresses.
func SymAddresses(start, end uint64, count int) []uint64 {
	step := (end - start) / uint64(count+1)
	out := make([]uint64, count)
	for i := range out {
		out[i] = start + uint64(i+1)*step
	}
	return out
}

// symAddressCount is how many libc addresses the sym rows resolve.
const symAddressCount = 300

func measureSym(p Params) (float64, error) {
	what := p.String("what", "rate")
	n, err := p.Int("n", 200000)
	if err != nil {
		return 0, err
	}
	target, start, end, err := startSymTarget()
	if err != nil {
		return 0, err
	}
	defer func() { target.Process.Kill(); target.Wait() }()
	pid := target.Process.Pid
	addrs := SymAddresses(start, end, symAddressCount)
	b, err := newSymbolsBPF()
	if err != nil {
		return 0, err
	}
	defer b.Close()

	debug.FreeOSMemory()
	before, err := StatusKB("VmRSS")
	if err != nil {
		return 0, err
	}
	unknown := 0
	for _, a := range addrs {
		if b.Sym(a, pid) == "[unknown]" {
			unknown++
		}
	}
	debug.FreeOSMemory()
	after, err := StatusKB("VmRSS")
	if err != nil {
		return 0, err
	}
	// Addresses in padding between functions may be unknown, on both
	// sides alike; most must resolve or the comparison means nothing.
	if unknown > len(addrs)/10 {
		return 0, fmt.Errorf("%d of %d libc addresses unknown", unknown, len(addrs))
	}
	if what == "memory" {
		return float64(after-before) / 1024, b.Close()
	}
	if what != "rate" {
		return 0, fmt.Errorf("what=%q: want rate or memory", what)
	}
	t0 := time.Now()
	for i := range n {
		b.Sym(addrs[i%len(addrs)], pid)
	}
	elapsed := time.Since(t0)
	return float64(n) / elapsed.Seconds(), b.Close()
}
