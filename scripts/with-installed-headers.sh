#!/usr/bin/env bash
# with-installed-headers.sh CMD [ARGS...] runs CMD where BCC Python, the
# tests' and benchmarks' reference, finds kernel headers.
#
# libbcc (BCC Python's, and gobcc's with --headers installed) looks for the
# running kernel's headers in /lib/modules/$(uname -r)/build and source.
# This machine's kernel has no headers package, and gobcc's setup no longer
# links another kernel's headers there (gobcc compiles against headers made
# from the kernel's BTF). So the comparison runs in a private mount
# namespace where that directory is a tmpfs holding build and source links
# to Debian's installed linux-headers-*-amd64 and -common trees, as a BCC
# user on such a machine would set them up. Nothing changes outside the
# namespace but an empty mount-point directory. Where the headers are in
# place already, CMD runs as it is.
set -euo pipefail

rel=$(uname -r)
if [ -e "/lib/modules/$rel/build/include" ] || [ "${GOBCC_HEADERS_NS:-}" = 1 ]; then
  exec "$@"
fi
amd64=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$amd64" ]; then
  echo "with-installed-headers: no /usr/src/linux-headers-*-amd64 (scripts/setup.sh installs linux-headers-amd64)" >&2
  exit 1
fi
common=${amd64%-amd64}-common
mkdir -p "/lib/modules/$rel"
export GOBCC_HEADERS_NS=1
exec unshare --mount --propagation private /bin/sh -c '
  mount -t tmpfs -o mode=0755 gobcc-headers "/lib/modules/$1" &&
  ln -s "$2" "/lib/modules/$1/build" &&
  ln -s "$3" "/lib/modules/$1/source" &&
  shift 3 && exec "$@"' sh "$rel" "$amd64" "$common" "$@"
