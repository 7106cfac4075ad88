#!/usr/bin/env bash
# setup.sh prepares a Debian 12 machine for building and testing gobcc.
# It is idempotent and must run as root: it installs libbcc, BCC Python (the
# reference for parity tests), bpftool, kernel headers and the tools the tests
# use, links headers for the running kernel when it has none, and mounts
# tracefs/debugfs. It prints one line for each thing it did.
set -euo pipefail

say() { printf 'setup: %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: must run as root (it installs packages and mounts tracefs)" >&2
  exit 1
fi

packages=(libbpfcc-dev python3-bpfcc bpftool linux-headers-amd64 systemtap-sdt-dev iproute2 gcc g++ make procps qemu-system-x86 busybox-static)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "packages present: ${packages[*]}"
fi

# Headers: BCC looks in /lib/modules/$(uname -r)/build and source. When the
# running kernel has no headers package, point those at Debian's newest
# installed -amd64 (build) and -common (source) trees. Tracepoint programs work
# with them; kernel struct offsets may differ from the running kernel's.
kver=$(uname -r)
moddir=/lib/modules/$kver
if [ ! -e "$moddir/build/include" ]; then
  amd64=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$amd64" ]; then
    echo "setup: no linux-headers-*-amd64 tree under /usr/src" >&2
    exit 1
  fi
  common=${amd64%-amd64}-common
  mkdir -p "$moddir"
  ln -sfn "$amd64" "$moddir/build"
  ln -sfn "$common" "$moddir/source"
  say "linked $moddir/build -> $amd64 and source -> $common (running kernel has no headers)"
else
  say "headers present at $moddir/build"
fi

if ! mountpoint -q /sys/kernel/debug 2>/dev/null; then
  mount -t debugfs debugfs /sys/kernel/debug && say "mounted debugfs"
fi
if [ ! -e /sys/kernel/tracing/trace_pipe ]; then
  mount -t tracefs tracefs /sys/kernel/tracing && say "mounted tracefs at /sys/kernel/tracing"
fi
say "done"
