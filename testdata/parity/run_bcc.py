#!/usr/bin/python3
# The BCC Python side of gobcc's parity suite (parity/parity_test.go).
#
# Usage: run_bcc.py PLAN.json
#
# PLAN.json is written by the Go test: a list of programs, each with its
# workload and the extra steps its header asks for (explicit loads and
# attaches, prog array and map-in-map slots, queue pops, trace lines), plus
# kernel addresses to resolve with ksym and recorded trace_pipe lines to parse
# with trace_fields. For every program this script does what a BCC user would
# do -- BPF(text=...), load_func, attach_*, the same workload made from this
# process, table items(), print_log2_hist, trace_fields -- and prints one JSON
# document with everything it saw. The Go test does the same through gobcc
# and compares.
#
# A program marked "isolate" (one that crashes libbcc) runs in a child Python
# process so that its crash does not end this one; its exit status is
# reported instead.
import ctypes as ct
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from bcc import BPF, lib

lib.bpf_obj_get_info_by_fd.restype = ct.c_int
lib.bpf_obj_get_info_by_fd.argtypes = [ct.c_int, ct.c_void_p, ct.c_void_p]

# libbcc calls BCC Python does not declare itself.
lib.bpf_num_tables.restype = ct.c_ulonglong
lib.bpf_num_tables.argtypes = [ct.c_void_p]
lib.bpf_table_name.restype = ct.c_char_p
lib.bpf_table_name.argtypes = [ct.c_void_p, ct.c_ulonglong]

WRITE_FD = 97   # /dev/null, dup2'ed here so that programs can filter on it
READ_FD = 98    # /dev/zero
# The flags of every workload openat (0x80900), which programs filter on.
OPEN_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK
PID = os.getpid()


def op_size(i):
    """Size of the i-th write or read, the same formula as the Go side."""
    return (i * 131) % 4000 + 1


def run_workload(ops):
    """Makes the system calls the plan lists, from this process."""
    for op in ops:
        kind, n = op["op"], op["n"]
        if kind == "getpid":
            for _ in range(n):
                os.getpid()
        elif kind == "write":
            buf = b"x" * 4001
            for i in range(n):
                os.write(WRITE_FD, buf[:op_size(i)])
        elif kind == "read":
            for i in range(n):
                os.read(READ_FD, op_size(i))
        elif kind == "open":
            for _ in range(n):
                fd = os.open("/dev/null", OPEN_FLAGS)
                os.close(fd)
        elif kind == "lseek":
            for i in range(n):
                os.lseek(READ_FD, i * 4096, os.SEEK_SET)
        elif kind == "uname":
            for _ in range(n):
                os.uname()
        elif kind == "kill":
            old = signal.signal(signal.SIGUSR1, signal.SIG_IGN)
            for _ in range(n):
                os.kill(PID, signal.SIGUSR1)
            signal.signal(signal.SIGUSR1, old)
        elif kind == "spawn":
            for _ in range(n):
                subprocess.run(["/bin/true"], check=True)
        elif kind == "busy":
            end = time.monotonic() + n / 1000.0
            x = 0
            while time.monotonic() < end:
                x += 1
        else:
            raise ValueError("unknown workload op %r" % kind)


class StderrCapture:
    """Captures file descriptor 2, where clang and libbcc print."""

    def __enter__(self):
        self.text = ""
        if os.environ.get("PARITY_NO_CAPTURE"):
            # An isolated child: its parent reads stderr, even after a crash.
            return self
        sys.stderr.flush()
        self.tmp = tempfile.TemporaryFile()
        self.saved = os.dup(2)
        os.dup2(self.tmp.fileno(), 2)
        return self

    def __exit__(self, *exc):
        if os.environ.get("PARITY_NO_CAPTURE"):
            return False
        sys.stderr.flush()
        os.dup2(self.saved, 2)
        os.close(self.saved)
        self.tmp.seek(0)
        self.text = self.tmp.read().decode(errors="replace")
        self.tmp.close()
        return False


def walk(v):
    """A decoded ctypes value as plain JSON: structs and unions as objects
    (anonymous members flattened, libbcc padding left out), arrays as lists,
    bytes as {"bytes": hex}."""
    if isinstance(v, (ct.Structure, ct.Union)):
        out = {}
        anon = getattr(v, "_anonymous_", ())
        for f in v._fields_:
            name = f[0]
            if name.startswith("__pad_"):
                continue
            val = getattr(v, name)
            if name in anon:
                out.update(walk(val))
            else:
                out[name] = walk(val)
        return out
    if isinstance(v, ct.Array):
        if v._type_ is ct.c_char:
            return {"bytes": bytes(v).hex()}
        return [walk(x) for x in v]
    if isinstance(v, bytes):
        return {"bytes": v.hex()}
    if isinstance(v, (bool, int, float)):
        return v
    if hasattr(v, "value"):
        return walk(v.value)
    raise TypeError("cannot walk %r" % (v,))


def prog_name_of(fd):
    """The program's name as the kernel keeps it (15 bytes at most; libbcc
    chooses what to pass), from bpf_prog_info.name at offset 64."""
    buf = ct.create_string_buffer(256)
    size = ct.c_uint(256)
    if lib.bpf_obj_get_info_by_fd(fd, buf, ct.byref(size)) != 0:
        return "?"
    return buf.raw[64:80].split(b"\0")[0].decode()


def prog_type_of(fd):
    with open("/proc/self/fdinfo/%d" % fd) as f:
        for line in f:
            if line.startswith("prog_type:"):
                return int(line.split()[1])
    return -1


def bpf_fds(kind):
    """Counts this process's descriptors of one BPF object kind
    ("bpf-prog", "bpf-map", "bpf_link", "perf_event")."""
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink("/proc/self/fd/" + fd) == "anon_inode:" + kind:
                n += 1
        except OSError:
            pass
    return n


def raw_keys(fd, ksize, lsize):
    """Keys of a map whose user-space lookups succeed, read through libbcc
    (for map types BCC's table classes cannot iterate)."""
    key = ct.create_string_buffer(ksize)
    nxt = ct.create_string_buffer(ksize)
    leaf = ct.create_string_buffer(max(lsize, 8) * 8)
    keys = []
    ok = lib.bpf_get_first_key(fd, key, ksize) == 0
    while ok:
        if lib.bpf_lookup_elem(fd, key, leaf) == 0:
            keys.append(key.raw[:ksize].hex())
        ok = lib.bpf_get_next_key(fd, key, nxt) == 0
        ct.memmove(key, nxt, ksize)
    return sorted(keys)


def dump_table(b, name, spec):
    n = name.encode()
    mod = b.module
    tid = lib.bpf_table_id(mod, n)
    t = {"name": name,
         "type": lib.bpf_table_type_id(mod, tid),
         "key_desc": lib.bpf_table_key_desc(mod, n).decode(),
         "leaf_desc": lib.bpf_table_leaf_desc(mod, n).decode(),
         "key_size": lib.bpf_table_key_size(mod, n),
         "leaf_size": lib.bpf_table_leaf_size(mod, n),
         "max_entries": lib.bpf_table_max_entries_id(mod, tid),
         "flags": lib.bpf_table_flags_id(mod, tid)}
    fd = lib.bpf_table_fd(mod, n)
    typ = t["type"]
    try:
        if typ == 7:  # stack trace: ids differ between runs, names do not
            tab = b[name]
            stacks = []
            for k in raw_keys(fd, t["key_size"], t["leaf_size"]):
                sid = int.from_bytes(bytes.fromhex(k), "little")
                stacks.append([BPF.ksym(a).decode(errors="replace") for a in tab.walk(sid)])
            t["stacks"] = sorted(stacks)
        elif typ in (3, 4, 12, 13, 8):  # values are ids or fds of this process
            t["keys"] = raw_keys(fd, t["key_size"], t["leaf_size"])
        elif typ in (22, 23):  # queue, stack: what values() pops, in order
            vals = b[name].values()
            t["popped"] = [walk(v) for v in vals]
            t["popped_hex"] = [bytes(v).hex() for v in vals]
        elif typ == 27:
            pass
        else:
            tab = b[name]
            items = []
            for k, v in tab.items():
                item = {"key_hex": bytes(k).hex(), "key": walk(k)}
                if typ in (5, 6, 10):
                    item["percpu"] = [walk(x) for x in v]
                    item["percpu_hex"] = [bytes(x).hex() if not isinstance(x, int)
                                          else x.to_bytes(8, "little", signed=x < 0).hex() for x in v]
                else:
                    item["leaf_hex"] = bytes(v).hex()
                    item["leaf"] = walk(v)
                items.append(item)
            t["items"] = sorted(items, key=lambda i: i["key_hex"])
    except Exception as e:  # BCC Python cannot read this table
        t["error"] = "%s: %s" % (type(e).__name__, e)
    if name in spec.get("log2_hist", {}) or name in spec.get("linear_hist", {}):
        log2 = name in spec.get("log2_hist", {})
        header = (spec.get("log2_hist") or spec.get("linear_hist"))[name]
        buf = io.StringIO()
        saved, sys.stdout = sys.stdout, buf
        try:
            # Sections come in table iteration order; both runners sort them.
            kw = {"bucket_sort_fn": lambda bs: sorted(bs, key=str)}
            if header:
                kw["section_header"] = header
            if log2:
                b[name].print_log2_hist("value", **kw)
            else:
                b[name].print_linear_hist("value", **kw)
        finally:
            sys.stdout = saved
        t["hist_text"] = buf.getvalue()
    return t


def open_trace_pipe(b):
    """Opens trace_pipe, waiting up to 60 s while another process holds it
    (it admits one reader). Returns an error text, or "" on success."""
    deadline = time.monotonic() + 60
    while True:
        try:
            b.trace_open(nonblocking=True)
            return ""
        except OSError as e:
            if e.errno != 16 or time.monotonic() > deadline:
                return str(e)
            time.sleep(0.2)


def trace_lines(b, want, match):
    """Reads trace_fields tuples until `want` lines from this process whose
    message contains `match` arrived (or 5 s passed)."""
    got = []
    deadline = time.monotonic() + 5
    while len(got) < want and time.monotonic() < deadline:
        task, pid, cpu, flags, ts, msg = b.trace_fields(nonblocking=True)
        if task is None:
            time.sleep(0.01)
            continue
        if pid is None or not isinstance(msg, bytes):
            continue
        if match.encode() not in msg:
            continue
        # A thread id, the process id for this single-threaded runner.
        if pid != PID:
            continue
        got.append({"task": task.decode(errors="replace"), "pid": pid, "cpu": cpu,
                    "flags": flags.decode(), "ts": ts, "msg": msg.decode(errors="replace")})
    return got


def open_buffers(b, p):
    """Opens the perf and ring buffers the plan names before the workload;
    records arrive in the returned lists as hex strings."""
    records = {}
    for name in p.get("perf_buffers") or {}:
        got = records.setdefault(name, {"records": [], "lost": 0})

        def cb(cpu, data, size, got=got):
            got["records"].append(ct.string_at(data, size).hex())

        def lost(n, got=got):
            got["lost"] += n
        b[name].open_perf_buffer(cb, lost_cb=lost)
    for name in p.get("ring_buffers") or {}:
        got = records.setdefault(name, {"records": [], "lost": 0})

        def rcb(ctx, data, size, got=got):
            got["records"].append(ct.string_at(data, size).hex())
            return 0
        b[name].open_ring_buffer(rcb)
    return records


def read_buffers(b, p, records):
    """Polls until every buffer delivered the records the plan expects, or
    5 s passed."""
    want = dict(p.get("perf_buffers") or {}, **(p.get("ring_buffers") or {}))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if all(len(records[n]["records"]) >= c for n, c in want.items()):
            break
        if p.get("perf_buffers"):
            b.perf_buffer_poll(timeout=50)
        if p.get("ring_buffers"):
            b.ring_buffer_poll(timeout=50)
    return records


def run_program(p):
    res = {"name": p["name"]}
    src = open(p["path"]).read()
    cflags = ["-DTEST_PID=%d" % PID] + p.get("cflags", [])
    progs_before = bpf_fds("bpf-prog")
    b = None
    cap = StderrCapture()
    try:
        with cap:
            b = BPF(text=src, cflags=cflags)
            res["stage"] = "new"
            res["loaded"] = {prog_name_of(fn.fd): prog_type_of(fn.fd) for fn in b.funcs.values()}
            res["loaded_explicit"] = {}
            for ld in p.get("loads", []):
                res["stage"] = "load " + ld["fn"]
                fn = b.load_func(ld["fn"].encode(), getattr(BPF, ld["type"]))
                res["loaded_explicit"][ld["fn"]] = prog_type_of(fn.fd)
            for at in p.get("attaches", []):
                res["stage"] = "attach " + at["kind"]
                attach(b, at)
            for pa in p.get("prog_arrays", []):
                fn = b.load_func(pa["fn"].encode(), getattr(BPF, pa["type"]))
                res["loaded_explicit"][pa["fn"]] = prog_type_of(fn.fd)
                b[pa["table"]][ct.c_int(pa["index"])] = ct.c_int(fn.fd)
            for mm in p.get("map_in_maps", []):
                b[mm["table"]][ct.c_int(mm["index"])] = ct.c_int(b[mm["inner"]].get_fd())
            res["stage"] = "done"
        res["stderr"] = cap.text
    except Exception as e:  # BCC raises plain Exception for every failure
        res["stderr"] = cap.text
        res["error"] = str(e)
        if b is not None:
            b.cleanup()
        return res
    res["functions"] = [lib.bpf_function_name(b.module, i).decode()
                        for i in range(lib.bpf_num_functions(b.module))]
    res["prog_fds"] = bpf_fds("bpf-prog") - progs_before
    res["num_open_tracepoints"] = b.num_open_tracepoints()
    res["num_open_raw_tracepoints"] = len(b.raw_tracepoint_fds)
    res["num_open_uprobes"] = b.num_open_uprobes()
    res["num_open_kprobes"] = b.num_open_kprobes()
    res["num_open_perf_events"] = len(b.open_perf_events)
    # BCC keeps one entry per (type, config), each a {cpu: fd} dict.
    res["num_perf_event_fds"] = sum(len(v) for v in b.open_perf_events.values())
    if p.get("trace"):
        # Hold trace_pipe before the workload, so that no other reader can
        # take this program's lines.
        res["trace_open_error"] = open_trace_pipe(b)
    records = open_buffers(b, p)
    run_workload(p.get("workload", []))
    if records:
        res["records"] = read_buffers(b, p, records)
    if p.get("trace") and not res["trace_open_error"]:
        res["trace"] = trace_lines(b, p["trace"]["count"], p["trace"]["match"])
    tables = []
    for i in range(lib.bpf_num_tables(b.module)):
        name = lib.bpf_table_name(b.module, i).decode()
        tables.append(dump_table(b, name, p))
    res["tables"] = sorted(tables, key=lambda t: t["name"])
    b.cleanup()
    return res


def attach(b, at):
    k = at["kind"]
    if k == "tracepoint":
        b.attach_tracepoint(tp=at["target"], fn_name=at["fn"])
    elif k == "raw_tracepoint":
        b.attach_raw_tracepoint(tp=at["target"], fn_name=at["fn"])
    elif k == "kprobe":
        b.attach_kprobe(event=at["target"], fn_name=at["fn"])
    elif k == "uprobe":
        b.attach_uprobe(name=at["binary"], sym=at["target"], fn_name=at["fn"])
    elif k == "uretprobe":
        b.attach_uretprobe(name=at["binary"], sym=at["target"], fn_name=at["fn"])
    elif k == "perf_event":
        b.attach_perf_event(ev_type=at.get("ev_type", 0), ev_config=at.get("ev_config", 0),
                            fn_name=at["fn"].encode(), sample_period=at.get("sample_period", 0),
                            sample_freq=at.get("sample_freq", 0))
    else:
        raise ValueError("unknown attach kind %r" % k)


def run_isolated(p):
    """Runs one program in a child Python process and reports how it ended."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump({"programs": [dict(p, isolate=False)]}, f)
        f.flush()
        cp = subprocess.run([sys.executable, __file__, f.name],
                            env=dict(os.environ, PARITY_NO_CAPTURE="1"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    res = {"name": p["name"], "isolated": True, "exit_status": cp.returncode,
           "stderr": cp.stderr.decode(errors="replace")}
    if cp.returncode == 0:
        res.update(json.loads(cp.stdout)["programs"][0])
    return res


def parse_trace_lines(lines):
    """What trace_fields returns for each recorded line, read through a
    fake trace pipe (BCC skips the lines it cannot parse)."""
    class FakeBPF:
        pass
    out = []
    for line in lines:
        fake = FakeBPF()
        data = [line.encode()]
        fake.trace_readline = lambda nonblocking=False, d=data: d.pop() if d else b""
        try:
            tup = BPF.trace_fields(fake, nonblocking=True)
        except Exception as e:
            out.append({"error": str(e)})
            continue
        if tup[0] is None:
            out.append(None)
            continue
        task, pid, cpu, flags, ts, msg = tup
        dec = lambda x: x.decode() if isinstance(x, bytes) else x
        out.append([dec(task), pid, int(cpu), dec(flags), ts, dec(msg)])
    return out


def main():
    plan = json.load(open(sys.argv[1]))
    wfd = os.open("/dev/null", os.O_WRONLY)
    os.dup2(wfd, WRITE_FD)
    rfd = os.open("/dev/zero", os.O_RDONLY)
    os.dup2(rfd, READ_FD)
    out = {"pid": PID, "programs": []}
    with open("/proc/self/comm") as f:
        out["comm"] = f.read().strip()
    for p in plan.get("programs", []):
        if p.get("isolate"):
            out["programs"].append(run_isolated(p))
        else:
            out["programs"].append(run_program(p))
    if plan.get("ksym_addrs"):
        ks = []
        for a in plan["ksym_addrs"]:
            ks.append([BPF.ksym(a).decode(errors="replace"),
                       BPF.ksym(a, show_offset=True).decode(errors="replace"),
                       BPF.ksym(a, show_module=True).decode(errors="replace")])
        out["ksym"] = ks
    if plan.get("sym_pid"):
        pid = plan["sym_pid"]
        out["sym"] = [[BPF.sym(a, pid).decode(errors="replace"),
                       BPF.sym(a, pid, show_offset=True).decode(errors="replace"),
                       BPF.sym(a, pid, show_module=True).decode(errors="replace")]
                      for a in plan["sym_addrs"]]
    if plan.get("ksym_names"):
        out["ksymname"] = [BPF.ksymname(n) for n in plan["ksym_names"]]
    if plan.get("trace_lines"):
        out["trace_fields"] = parse_trace_lines(plan["trace_lines"])
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
