# hist_parity.py: BCC Python's side of gobcc's histogram parity test.
# Usage: hist_parity.py SPEC.json. The spec holds the C program, the
# entries to put in each table (in order) and the print calls to make; the
# output of each call follows a "=====CALL <n>" line. print_json_hist's dicts
# are printed as json.dumps of the dict with "ts" replaced by "TS".
import ast, contextlib, io, json, sys
from bcc import BPF

spec = json.load(open(sys.argv[1]))
b = BPF(text=spec["text"])
for name, entries in spec["entries"].items():
    t = b[name]
    for key, val in entries:
        if isinstance(key, dict):
            k = t.Key()
            for f, v in key.items():
                setattr(k, f, v.encode() if isinstance(v, str) else v)
        else:
            k = t.Key(key)
        t[k] = t.Leaf(val)

def fix(o):
    if isinstance(o, bytes):
        return o.decode()
    return o

for n, call in enumerate(spec["calls"]):
    sys.stdout.write("=====CALL %d\n" % n)
    t = b[call["table"]]
    kwargs = eval("dict(%s)" % call["py"])
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        getattr(t, "print_%s_hist" % call["kind"])(call["val_type"], **kwargs)
    out = buf.getvalue()
    if call["kind"] == "json":
        lines = []
        for line in out.splitlines():
            d = ast.literal_eval(line)
            d["ts"] = "TS"
            lines.append(json.dumps({k: fix(v) for k, v in d.items()}))
        out = "".join(l + "\n" for l in lines)
    sys.stdout.write(out)
sys.stdout.flush()
