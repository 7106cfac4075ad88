#!/bin/bash
# Builds bin/gobcc_VERSION_ARCH.deb with dpkg-deb from bin/gobcc (make deb
# builds it first): the binary, man pages, shell completions, the exporter's
# systemd unit (installed, not enabled), example exporter configurations
# and the license. Depends on libbpfcc, which gobcc loads at run time.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${BIN:-bin}
arch=$(dpkg --print-architecture)
version=${VERSION:-0.1.0+git$(git rev-parse --short HEAD 2>/dev/null || echo 0)}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

install -D -m 0755 "$bin/gobcc" "$root/usr/bin/gobcc"
"$bin/gobcc" gen-docs --man "$root/usr/share/man/man1" --completions "$root/completions"
gzip -9n "$root"/usr/share/man/man1/*.1
install -D -m 0644 "$root/completions/bash/gobcc" "$root/usr/share/bash-completion/completions/gobcc"
install -D -m 0644 "$root/completions/zsh/_gobcc" "$root/usr/share/zsh/vendor-completions/_gobcc"
install -D -m 0644 "$root/completions/fish/gobcc.fish" "$root/usr/share/fish/vendor_completions.d/gobcc.fish"
rm -rf "$root/completions"
install -D -m 0644 deploy/systemd/gobcc-exporter.service "$root/lib/systemd/system/gobcc-exporter.service"
install -d -m 0755 "$root/etc/gobcc/exporter"
install -D -m 0644 LICENSE "$root/usr/share/doc/gobcc/copyright"
install -d "$root/usr/share/doc/gobcc/examples/exporter"
install -m 0644 examples/exporter/*.c examples/exporter/*.yaml "$root/usr/share/doc/gobcc/examples/exporter/"

size=$(du -sk "$root" | cut -f1)
install -d "$root/DEBIAN"
cat > "$root/DEBIAN/control" <<CONTROL
Package: gobcc
Version: $version
Architecture: $arch
Maintainer: gobcc developers <gobcc@users.noreply.github.com>
Depends: libbpfcc, libc6
Recommends: linux-headers-amd64 | linux-headers-generic
Section: devel
Priority: optional
Installed-Size: $size
Homepage: https://github.com/gobcc/gobcc
Description: BCC programs from the shell and as Prometheus metrics
 gobcc compiles BPF C programs written for BCC through libbcc, loads and
 attaches them, and prints their tables (gobcc run), checks them (gobcc
 check), or serves them to Prometheus (gobcc export, with the
 gobcc-exporter systemd unit, installed but not enabled).
CONTROL
# The unit is shipped disabled: tell systemd it exists, start nothing.
cat > "$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null || true; fi
POSTINST
cat > "$root/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null || true; fi
if [ "$1" = purge ]; then rmdir --ignore-fail-on-non-empty /etc/gobcc/exporter /etc/gobcc 2>/dev/null || true; fi
POSTRM
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/postrm"

out="$bin/gobcc_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$root" "$out" >/dev/null
echo "$out"
