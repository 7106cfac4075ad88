#!/usr/bin/python3
"""Reference answers from BCC Python for internal/kallsyms tests.

Reads queries on stdin, one per line, and prints one answer line each:
  ksym <hexaddr>   -> ksym(a) TAB ksym(a,True,False) TAB ksym(a,False,True) TAB ksym(a,True,True)
  ksymname <name>  -> ksymname(name) in decimal (-1 when unknown)
"""
import sys

from bcc import BPF


def main():
    out = []
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        kind, arg = line.split(None, 1)
        if kind == "ksym":
            addr = int(arg, 16)
            out.append("\t".join(
                BPF.ksym(addr, show_module=m, show_offset=o).decode()
                for m, o in ((False, False), (True, False), (False, True), (True, True))))
        elif kind == "ksymname":
            out.append(str(BPF.ksymname(arg)))
        else:
            sys.exit("unknown query kind %r" % kind)
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
