#!/usr/bin/env bash
# kheaders_tools.sh compiles and loads the BPF text of Debian's bcc tools
# (/usr/sbin/*-bpfcc --ebpf, package bpfcc-tools) with `gobcc check`, once
# against the installed kernel headers and once against the tree generated
# from the kernel's BTF (through per-program type subsets, and whole with
# GOBCC_NO_TYPE_SUBSETS=1), and prints one line per tool, the totals, the
# compiles that fell back from their subset to the whole tree and the
# subsets' sizes. The run has its own cache ($OUTDIR/cache).
# "check" loads every function through the verifier (kprobe functions load
# as kprobe programs even where kprobes cannot attach) and attaches nothing.
#
# usage: scripts/kheaders_tools.sh [GOBCC_BINARY] [OUTDIR]   (as root)
set -uo pipefail
gobcc=${1:-bin/gobcc}
out=${2:-$(mktemp -d /tmp/kheaders-tools.XXXXXX)}
mkdir -p "$out"
policies=(installed btf btf-whole)
export GOBCC_CACHE_DIR=$out/cache
declare -A ok
total=0
printf '%-22s %-10s %-10s %-10s\n' tool installed btf btf-whole
for tool in /usr/sbin/*-bpfcc; do
  name=$(basename "$tool" -bpfcc)
  src=$out/$name.c
  timeout 30 "$tool" --ebpf >"$src" 2>/dev/null </dev/null || true
  # Tools that need arguments print their usage, not a program.
  if ! grep -q 'BPF_\|TRACEPOINT_PROBE\|bpf_' "$src" 2>/dev/null; then
    continue
  fi
  total=$((total + 1))
  line=$(printf '%-22s' "$name")
  for p in "${policies[@]}"; do
    nosubsets=0
    headers=$p
    if [ "$p" = btf-whole ]; then nosubsets=1 headers=btf; fi
    if GOBCC_HEADERS=$headers GOBCC_NO_TYPE_SUBSETS=$nosubsets timeout 120 "$gobcc" check "$src" >"$out/$name.$p.log" 2>&1; then
      r=ok
      ok[$p]=$(( ${ok[$p]:-0} + 1 ))
    else
      r=FAIL
    fi
    line+=$(printf ' %-10s' "$r")
  done
  echo "$line"
done
echo "tools with BPF text: $total"
for p in "${policies[@]}"; do
  echo "compile+load ok with $p headers: ${ok[$p]:-0}"
done
# A subset a compile failed with (and the whole tree passed) is marked.
shopt -s nullglob
subsets=("$GOBCC_CACHE_DIR"/headers/*/subsets/*/gobcc_program_types.h)
fallbacks=$(ls "$GOBCC_CACHE_DIR"/headers/*/subsets/*/failed 2>/dev/null | wc -l)
echo "subsets: ${#subsets[@]}, compiles that fell back to the whole tree: $fallbacks"
if [ ${#subsets[@]} -gt 0 ]; then
  stat -c %s "${subsets[@]}" | sort -n | awk '{s[NR]=$1} END {printf "subset size: median %d bytes, max %d bytes\n", s[int((NR+1)/2)], s[NR]}'
fi
echo "sources and logs: $out"
