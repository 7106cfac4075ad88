// Package vm runs a command inside a QEMU guest that boots one of Debian's
// own kernel packages, with the host's file system visible read-only. It
// exists to test gobcc on kernels other than the host's: a kernel with
// kprobes when the host has none, an older verifier, other tracepoints.
//
// The pieces, in the order [Run] uses them:
//
//   - [FetchKernel] downloads a linux-image package with `apt-get download`
//     (apt checks its checksum against the signed archive index) into a
//     cache directory, once, and unpacks it with `dpkg-deb -x`. Nothing is
//     installed: /boot and /lib/modules are not touched.
//   - [WriteInitramfs] packs a gzip'ed newc cpio archive with a static
//     busybox, the virtio, 9p and overlay modules of that kernel (with the
//     modules they depend on, in load order) and an /init script.
//   - [Run] boots qemu-system-x86_64 (TCG when there is no /dev/kvm) with
//     the host's / shared read-only over virtio-9p and a tmpfs overlay on
//     top, so the guest can write anywhere without changing the host, and a
//     second, writable 9p share (a temporary host directory) that carries
//     the command script in and the exit status out. The command runs
//     chrooted into the overlay; its output arrives over the serial console.
//
// The host side creates no mounts: the only things it creates are the cache
// directory and one temporary directory per run, which Run removes (and the
// next run removes, should the process be killed with SIGKILL). qemu is
// killed when the context ends (timeout or cancel) and, through
// PR_SET_PDEATHSIG, when the process that started it dies.
package vm
