#!/usr/bin/env bash
# Builds the Containerfile's image with podman and runs it as the
# Kubernetes DaemonSet (deploy/kubernetes/daemonset.yaml) does: the
# DaemonSet's capabilities only, a read-only root file system, the host's
# tracefs and a cache volume; then scrapes it and stops it with SIGTERM.
# Run as root; deploy/container_test.go runs it in `make test`.
#
# This machine reaches Debian's packages and the Go module proxy but not
# Docker Hub, so the two base images the Containerfile names by default are
# replaced (through its GO_IMAGE and BASE_IMAGE arguments) by images built
# here from Debian bookworm with debootstrap, kept in podman's storage
# between runs. The Go toolchain and the module cache are this machine's,
# mounted into the build stage, with its certificate authorities (the
# module proxy is reached through a proxy of its own).
#
# Two settings are this machine's, not the image's: runc instead of crun
# (crun refuses the hybrid cgroup v1/v2 hierarchy mounted here) and
# explicit RLIMIT_NOFILE/NPROC (the sandbox lacks CAP_SYS_RESOURCE, so
# podman's defaults, above its hard limits, cannot be set).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

IMAGE=${IMAGE:-localhost/gobcc:test}
BASE=localhost/gobcc-base:bookworm
GOBUILD=localhost/gobcc-gobuild:bookworm
PORT=${PORT:-19435}
NAME=gobcc-container-test

podman() { command podman --runtime runc "$@"; }
limits=(--ulimit "nofile=1024:1024" --ulimit "nproc=1024:1024")
say() { echo "test_container: $*"; }
fail() { echo "test_container: FAIL: $*" >&2; exit 1; }

work=$(mktemp -d /tmp/gobcc-container.XXXXXX)
cleanup() {
  podman rm -f "$NAME" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

if ! podman image exists "$BASE"; then
  say "building $BASE with debootstrap"
  debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log"; fail "debootstrap"; }
  tar -C "$work/rootfs" -c . | podman import - "$BASE" >/dev/null
  rm -rf "$work/rootfs"
fi
if ! podman image exists "$GOBUILD"; then
  say "building $GOBUILD (gcc and libc for cgo; Go itself is mounted)"
  printf 'FROM %s\nRUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev ca-certificates git && rm -rf /var/lib/apt/lists/*\n' "$BASE" >"$work/Containerfile.gobuild"
  podman build -q --isolation=chroot --network=host -t "$GOBUILD" -f "$work/Containerfile.gobuild" "$work" >/dev/null
fi

say "building $IMAGE from Containerfile"
modcache=$(go env GOMODCACHE)
mkdir -p "$modcache"
podman build -q --isolation=chroot --network=host \
  --build-arg GO_IMAGE="$GOBUILD" --build-arg BASE_IMAGE="$BASE" \
  --build-arg GOPROXY="$(go env GOPROXY)" --build-arg SSL_CERT_FILE=/run/gobcc-build-ca.crt \
  -v /usr/local/go:/usr/local/go:ro -v "$modcache:/root/go/pkg/mod" \
  -v /etc/ssl/certs/ca-certificates.crt:/run/gobcc-build-ca.crt:ro \
  -t "$IMAGE" . >/dev/null

say "gobcc version and export --help in the image"
podman run --rm "${limits[@]}" --network=host "$IMAGE" version | tee "$work/version"
grep -q '^libbcc 0\.' "$work/version" || fail "no libbcc version in the image"
podman run --rm "${limits[@]}" --network=host "$IMAGE" export --help >"$work/help"
grep -q -- '--config-dir' "$work/help" || fail "export --help has no --config-dir"

say "export of examples/exporter with the DaemonSet's security context"
mkdir -m 0755 "$work/cache"
if ss -Hltn "sport = :$PORT" | grep -q .; then fail "port $PORT is taken: set PORT"; fi
podman run -d --name "$NAME" "${limits[@]}" --network=host --pid=host \
  --read-only --tmpfs /tmp --security-opt seccomp=unconfined \
  --cap-drop ALL --cap-add BPF,PERFMON,SYSLOG,DAC_READ_SEARCH,SYS_PTRACE \
  -v /sys/kernel/tracing:/sys/kernel/tracing:ro \
  -v "$work/cache:/var/cache/gobcc" \
  -v "$PWD/examples/exporter:/etc/gobcc/exporter:ro" \
  "$IMAGE" export --config-dir /etc/gobcc/exporter --listen "127.0.0.1:$PORT" --keep-going >/dev/null
up=
for _ in $(seq 120); do
  [ "$(podman inspect -f '{{.State.Running}}' "$NAME")" = true ] || break
  if curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then up=1; break; fi
  sleep 0.5
done
[ -n "$up" ] || { podman logs "$NAME" >&2; fail "exporter not healthy in the container"; }
sleep 2
curl -sf "http://127.0.0.1:$PORT/metrics" >"$work/metrics" || fail "GET /metrics"
grep -q '^gobcc_exporter_programs_enabled 3$' "$work/metrics" || { podman logs "$NAME" >&2; fail "not 3 programs enabled"; }
for m in kmalloc_calls_total syscalls_total runqueue_latency_seconds_bucket; do
  grep -q "^$m{" "$work/metrics" || { grep -v '^#' "$work/metrics" | head -40 >&2; fail "no $m series"; }
done
say "$(grep -c -v '^#' "$work/metrics") series scraped"

podman stop -t 20 "$NAME" >/dev/null
code=$(podman inspect -f '{{.State.ExitCode}}' "$NAME")
podman logs "$NAME" >"$work/log" 2>&1
[ "$code" = 0 ] || { cat "$work/log" >&2; fail "exit code $code after SIGTERM"; }
say "stopped with SIGTERM, exit code 0"
say "ok"
