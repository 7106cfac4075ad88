#!/usr/bin/env bash
# setup.sh prepares a Debian 12 machine for building and testing gobcc.
# It is idempotent and must run as root: it installs libbcc, BCC Python (the
# reference for parity tests), bpftool, Debian's kernel headers (tests compare
# with them) and the tools the tests use, removes links to another kernel's
# headers that earlier versions made, and mounts tracefs/debugfs. It prints one line for each thing it did.
set -euo pipefail

say() { printf 'setup: %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: must run as root (it installs packages and mounts tracefs)" >&2
  exit 1
fi

packages=(libbpfcc-dev python3-bpfcc bpftool linux-headers-amd64 systemtap-sdt-dev iproute2 gcc g++ make procps llvm)
packages+=(prometheus) # gobcc export's tests: a real Prometheus server and promtool
packages+=(bpfcc-tools bpftrace) # references: BCC's own tools (ported tools' tests) and bpftrace -l (gobcc list)
packages+=(qemu-system-x86 busybox-static) # make vmtest: a QEMU guest of a kernel with kprobes
packages+=(podman runc crun fuse-overlayfs netavark aardvark-dns slirp4netns uidmap debootstrap curl) # the Containerfile built and run in a test (scripts/test_container.sh); the set verified here
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

# Headers: gobcc compiles against a header tree generated from the running
# kernel's BTF when /lib/modules/$(uname -r)/build is not the running
# kernel's (docs/headers.md), so setup no longer links another kernel's
# headers there: with them, BCC Python and libbcc's own default read kernel
# structs at the wrong offsets without a word. Undo the links earlier
# versions of this script made (symlinks into /usr/src/linux-headers-* of
# another release); Debian's headers stay installed for the tests that
# compare with them.
kver=$(uname -r)
moddir=/lib/modules/$kver
for link in build source; do
  target=$(readlink "$moddir/$link" 2>/dev/null || true)
  case "$target" in
    /usr/src/linux-headers-"$kver"|/usr/src/linux-headers-"$kver"/*) ;;
    /usr/src/linux-headers-*)
      rm -f "$moddir/$link"
      say "removed $moddir/$link -> $target (headers of another kernel; gobcc uses the kernel's BTF)"
      ;;
  esac
done
if [ -e "$moddir/build/include" ]; then
  say "headers present at $moddir/build"
elif [ -r /sys/kernel/btf/vmlinux ]; then
  say "no headers for $kver: gobcc generates them from /sys/kernel/btf/vmlinux"
else
  say "warning: no headers for $kver and no kernel BTF: programs that include kernel headers will not compile" >&2
fi

if ! mountpoint -q /sys/kernel/debug 2>/dev/null; then
  mount -t debugfs debugfs /sys/kernel/debug && say "mounted debugfs"
fi
if ! mountpoint -q /sys/fs/bpf 2>/dev/null; then
  mount -t bpf bpf /sys/fs/bpf && say "mounted bpffs at /sys/fs/bpf"
fi
if [ ! -e /sys/kernel/tracing/trace_pipe ]; then
  mount -t tracefs tracefs /sys/kernel/tracing && say "mounted tracefs at /sys/kernel/tracing"
fi
say "done"
