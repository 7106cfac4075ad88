"""Shared code of the BCC Python side of gobcc's benchmark comparison.

Every script here is run by bench/internal/benchcmp's runner as
    /usr/bin/python3 scripts/bench/SCRIPT.py key=value ...
from the repository's root, in a fresh process per sample. It does the same
work as the gobcc measurement of the same name (bench/internal/benchcmp) and prints
its sample with emit(); the runner ignores everything else printed.
"""
import json
import sys

# The table the table benchmarks fill: as hashProgram in measure_core.go.
HASH_PROGRAM = "BPF_HASH(big, u64, u64, %d);\n"


def args():
    """Returns the key=value command-line arguments as a dict."""
    out = {}
    for a in sys.argv[1:]:
        k, sep, v = a.partition("=")
        if not sep or not k:
            sys.exit("argument %r is not key=value" % a)
        out[k] = v
    return out


def emit(value):
    """Prints the sample in the runner's protocol."""
    print("BENCH " + json.dumps({"value": float(value)}), flush=True)


def status_kb(field):
    """Reads a 'Vm...: N kB' line of /proc/self/status."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError("/proc/self/status: no %s line" % field)


def text_symbols():
    """Function symbols (types t and T) of /proc/kallsyms with non-zero
    addresses, except BPF programs, in file order, as TextSymbols in
    measure_core.go."""
    syms = []
    with open("/proc/kallsyms") as f:
        for line in f:
            fields = line.split()
            if len(fields) < 3 or fields[1] not in ("t", "T"):
                continue
            # BPF programs come and go with other processes' programs.
            if len(fields) > 3 and fields[3] == "[bpf]":
                continue
            addr = int(fields[0], 16)
            if addr:
                syms.append((addr, fields[2]))
    if not syms:
        raise RuntimeError("/proc/kallsyms lists no function addresses")
    return syms


def symbol_sample(syms, n):
    """n symbols spread over syms, as SymbolSample in measure_core.go."""
    return [syms[(i * 7919) % len(syms)] for i in range(n)]


def fill_hash(table, n):
    """Stores keys 1..n with value 2*key, as FillHashU64, in batches."""
    chunk = 65536
    first = 1
    while first <= n:
        count = min(chunk, n - first + 1)
        keys = (table.Key * count)(*range(first, first + count))
        values = (table.Leaf * count)(*(2 * k for k in range(first, first + count)))
        table.items_update_batch(keys, values)
        first += count


def start_sym_target():
    """Starts `sleep 1000` and waits until it sleeps (its libraries are then
    mapped); returns the process and its libc text mapping (start, end), as
    startSymTarget in measure_syms.go."""
    import subprocess
    import time
    p = subprocess.Popen(["sleep", "1000"])
    deadline = time.monotonic() + 10
    while True:
        try:
            with open("/proc/%d/syscall" % p.pid) as f:
                # nanosleep or clock_nanosleep (x86-64 numbers)
                if f.read().split(" ", 1)[0] in ("35", "230"):
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            p.kill()
            raise SystemExit("sleep (pid %d) did not reach clock_nanosleep" % p.pid)
        time.sleep(0.001)
    with open("/proc/%d/maps" % p.pid) as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 6 and fields[1] == "r-xp" and fields[5].endswith("/libc.so.6"):
                lo, hi = fields[0].split("-")
                return p, int(lo, 16), int(hi, 16)
    p.kill()
    raise SystemExit("pid %d maps no libc.so.6 text" % p.pid)


def sym_addresses(start, end, count):
    """count addresses spread evenly over [start, end), as SymAddresses in
    measure_syms.go."""
    step = (end - start) // (count + 1)
    return [start + (i + 1) * step for i in range(count)]
