"""The seed article's script, printing the table once instead of every
second: the runner times the whole process.

Two changes beyond that: the program is read from testdata/ (it is the
article's text), and the article's sorted(b["callers"].items()) raises
TypeError on Python 3 as soon as two keys must be compared (ctypes values do
not order), so the items are sorted by key value, which is what it meant."""
from bcc import BPF

# The same C file the gobcc side loads (testdata/kmalloc_callers.c): the
# article's program, so the two sides cannot drift apart. The runner starts
# scripts from the repository root.
program = open("testdata/kmalloc_callers.c").read()
b = BPF(text=program)

for k, v in sorted(b["callers"].items(), key=lambda kv: kv[0].value):
    print("%s %u" % (b.ksym(k.value), v.value))
print()
