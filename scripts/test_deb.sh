#!/bin/bash
# Tests the Debian package on this machine (as root): install it with apt
# (which brings libbpfcc), run "gobcc doctor" and "gobcc export --help",
# check the exporter unit is installed but not enabled, purge it, and
# check that none of its files is left. Usage: scripts/test_deb.sh [DEB]
set -euo pipefail
cd "$(dirname "$0")/.."
deb=${1:-$(ls -t bin/gobcc_*.deb | head -1)}
if dpkg -s gobcc >/dev/null 2>&1; then
  echo "test_deb: a gobcc package is already installed; not touching it" >&2
  exit 1
fi
apt-get install -y -qq "./$deb" >/dev/null
files=$(dpkg -L gobcc)
trap 'apt-get purge -y -qq gobcc >/dev/null 2>&1 || true' EXIT
/usr/bin/gobcc doctor
/usr/bin/gobcc export --help | grep -q -- '--config-dir'
man -w gobcc-export >/dev/null
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  state=$(systemctl is-enabled gobcc-exporter.service 2>/dev/null || true)
  [ "$state" = disabled ] || { echo "test_deb: unit is $state, want disabled" >&2; exit 1; }
fi
apt-get purge -y -qq gobcc >/dev/null
trap - EXIT
left=0
while read -r f; do
  case "$f" in /.|/|/etc|/lib|/lib/systemd|/lib/systemd/system|/usr|/usr/bin|/usr/share|/usr/share/*/|/usr/share/man|/usr/share/man/man1|/usr/share/doc|/usr/share/bash-completion|/usr/share/bash-completion/completions|/usr/share/zsh|/usr/share/zsh/vendor-completions|/usr/share/fish|/usr/share/fish/vendor_completions.d) continue ;; esac
  if [ -e "$f" ]; then echo "test_deb: left after purge: $f" >&2; left=1; fi
done <<<"$files"
[ "$left" = 0 ]
echo "test_deb: $deb installed, ran, purged cleanly"
