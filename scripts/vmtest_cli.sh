#!/bin/sh
# vmtest_cli.sh runs in the `make vmtest` guest (see docs/testing.md): the
# gobcc CLI on a kernel with kprobes. `gobcc doctor` must report kprobes as
# supported, and `gobcc run` of a kprobe program must count the reads this
# script makes. Usage: vmtest_cli.sh GOBCC_BINARY
set -u
gobcc=${1:?usage: vmtest_cli.sh GOBCC_BINARY}
fail=0
echo "vmtest: uname -r: $(uname -r)"

out=$("$gobcc" doctor 2>&1); rc=$?
echo "$out"
echo "vmtest: gobcc doctor exit status $rc"
if ! echo "$out" | grep -Eq '^OK +kprobes'; then
  echo "FAIL: gobcc doctor does not report kprobes as supported"; fail=1
fi

# Read /dev/zero while gobcc run counts read_zero for 10 seconds (BPF
# compiles take several seconds under TCG; the reads go on until it exits).
(while :; do head -c 4096 /dev/zero >/dev/null; sleep 0.05; done) &
reader=$!
out=$("$gobcc" run --duration 10s testdata/vm_kprobe_count.c 2>&1); rc=$?
kill $reader 2>/dev/null; wait $reader 2>/dev/null
echo "$out"
echo "vmtest: gobcc run exit status $rc"
[ $rc -eq 0 ] || { echo "FAIL: gobcc run exited with $rc"; fail=1; }
for t in read_zero_calls read_zero_bytes; do
  # "HH:MM:SS read_zero_calls (array, 1 entries)" then "0 COUNT".
  if ! echo "$out" | grep -A1 " $t (" | grep -Eq '^0 [1-9][0-9]*$'; then
    echo "FAIL: gobcc run printed no non-zero count for $t"; fail=1
  fi
done
[ $fail -eq 0 ] && echo "vmtest: gobcc CLI ok"
exit $fail
