"""The seed article's script, printing the table once instead of every
second: the runner times the whole process.

One change beyond that: the article's sorted(b["callers"].items()) raises
TypeError on Python 3 as soon as two keys must be compared (ctypes values do
not order), so the items are sorted by key value, which is what it meant."""
from bcc import BPF

program = """
    BPF_HASH(callers, u64, unsigned long);

    TRACEPOINT_PROBE(kmem, kmalloc) {
        u64 ip = args->call_site;
        unsigned long *count;
        unsigned long c = 1;

        count = callers.lookup((u64 *)&ip);
        if (count != 0)
            c += *count;

        callers.update(&ip, &c);

        return 0;
    }
"""
b = BPF(text=program)

for k, v in sorted(b["callers"].items(), key=lambda kv: kv[0].value):
    print("%s %u" % (b.ksym(k.value), v.value))
print()
