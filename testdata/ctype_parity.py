#!/usr/bin/python3
# Loads ctype_parity.c with BCC Python, makes the tracepoint fire, and prints
# JSON describing every table: libbcc's key/leaf descriptions and sizes, each
# item's raw key and leaf bytes, and BCC Python's own decoding of those bytes
# (its ctypes classes from BPF._decode_table_type). Where Python cannot build
# a type, the error is reported instead of a decoding.
# Usage: ctype_parity.py path/to/ctype_parity.c
import ctypes as ct
import json
import os
import sys

from bcc import BPF, lib

TABLES = ["t_u8", "t_s16", "t_s64", "t_pad", "t_union", "t_bits", "t_enum",
          "t_anon", "t_arr2", "t_ptr", "t_packed", "t_i128", "t_sc", "t_bool",
          "t_names", "t_nested", "t_bfn", "t_comm", "t_fl", "t_mat", "t_u128"]


def walk(v):
    """Turns a decoded ctypes value into plain JSON: structs and unions as
    objects (anonymous members flattened, libbcc padding left out), arrays as
    lists, bytes as {"bytes": hex}."""
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
        return [walk(x) for x in v]
    if isinstance(v, bytes):
        return {"bytes": v.hex()}
    if isinstance(v, (bool, int, float)):
        return v
    if hasattr(v, "value"):
        return walk(v.value)
    raise TypeError("cannot walk %r" % (v,))


def python_decode(cls, raw):
    size = ct.sizeof(cls)
    buf = raw[:size] + b"\0" * max(0, size - len(raw))
    return walk(cls.from_buffer_copy(buf))


def main():
    src = open(sys.argv[1]).read()
    b = BPF(text=src, cflags=["-DTEST_PID=%d" % os.getpid(), "-w"])
    os.getpid()
    out = []
    for name in TABLES:
        n = name.encode()
        t = {"name": name,
             "key_desc": lib.bpf_table_key_desc(b.module, n).decode(),
             "leaf_desc": lib.bpf_table_leaf_desc(b.module, n).decode(),
             "key_size": lib.bpf_table_key_size(b.module, n),
             "leaf_size": lib.bpf_table_leaf_size(b.module, n)}
        types = {}
        for part in ("key", "leaf"):
            try:
                cls = BPF._decode_table_type(json.loads(t[part + "_desc"]))
                types[part] = cls
                t["py_%s_size" % part] = ct.sizeof(cls)
            except Exception as e:  # Python's decoder gives up on this type
                t["py_%s_error" % part] = "%s: %s" % (type(e).__name__, e)
        fd = lib.bpf_table_fd(b.module, n)
        ksize, lsize = t["key_size"], t["leaf_size"]
        key = ct.create_string_buffer(ksize)
        nxt = ct.create_string_buffer(ksize)
        leaf = ct.create_string_buffer(lsize)
        items = []
        ok = lib.bpf_get_first_key(fd, key, ksize) == 0
        while ok:
            if lib.bpf_lookup_elem(fd, key, leaf) == 0:
                kraw, lraw = key.raw[:ksize], leaf.raw[:lsize]
                item = {"key_hex": kraw.hex(), "leaf_hex": lraw.hex()}
                for part, raw in (("key", kraw), ("leaf", lraw)):
                    if part in types:
                        item["py_" + part] = python_decode(types[part], raw)
                items.append(item)
            ok = lib.bpf_get_next_key(fd, key, nxt) == 0
            ct.memmove(key, nxt, ksize)
        t["items"] = items
        out.append(t)
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
