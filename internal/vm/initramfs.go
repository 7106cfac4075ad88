package vm

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// DefaultBusybox is the static busybox that Debian's busybox-static
// package installs. The initramfs needs a static one: it runs before the
// host's libraries are visible.
const DefaultBusybox = "/bin/busybox"

// Mount tags of the two 9p shares and the guest path of the second one.
const (
	rootTag  = "hostroot"
	shareTag = "gobccvm"
	// GuestShareDir is where the guest sees the run's writable share
	// (Config.ShareDir on the host).
	GuestShareDir = "/mnt/gobcc-vm"
)

// initScript is the guest's /init. It loads the modules listed in
// /lib/modules/order, mounts the host's / read-only over 9p under a tmpfs
// overlay, mounts the kernel file systems a BPF program needs, and runs
// cmd.sh from the writable share chrooted into the overlay. The command's
// exit status goes to the share's rc file; without that file the host knows
// the command did not finish. %[1]s is the host path of the unpacked
// kernel's /lib/modules/<release>, linked into the guest when the host has
// no such directory; %[2]s the package's /boot, whose config-<release> the
// guest gets as an installed kernel has it (gobcc's header generator reads
// the kernel configuration there).
const initScript = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
fail() { echo "gobcc-vm: $*"; poweroff -f; sleep 10; }
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m || fail "insmod $m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=524288,cache=loose ` + rootTag + ` /mnt/lower || fail "cannot mount the host's / over 9p"
mount -t tmpfs -o size=80%% tmp /mnt/upper; mkdir -p /mnt/upper/u /mnt/upper/w
mount -t overlay -o lowerdir=/mnt/lower,upperdir=/mnt/upper/u,workdir=/mnt/upper/w overlay /newroot || fail "cannot mount the overlay"
R=/newroot
mount -t proc proc $R/proc; mount -t sysfs sys $R/sys; mount -t devtmpfs dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm; mount -t devpts devpts $R/dev/pts; mount -t tmpfs shm $R/dev/shm
mount -t debugfs debugfs $R/sys/kernel/debug; mount -t tracefs tracefs $R/sys/kernel/tracing
mount -t bpf bpf $R/sys/fs/bpf; mount -t cgroup2 cgroup2 $R/sys/fs/cgroup
mount -t tmpfs run $R/run
mkdir -p $R` + GuestShareDir + `
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 ` + shareTag + ` $R` + GuestShareDir + ` || fail "cannot mount the run's share"
ip link set lo up || fail "cannot bring up lo"
rel=$(uname -r)
[ -e $R/lib/modules/$rel ] || { mkdir -p $R/lib/modules; ln -s %[1]s $R/lib/modules/$rel; }
[ -e $R/boot/config-$rel ] || { mkdir -p $R/boot; cp %[2]s/config-$rel $R/boot/ 2>/dev/null; }
echo "gobcc-vm: guest kernel $rel booted in $(cut -d' ' -f1 /proc/uptime)s"
chroot $R /bin/sh ` + GuestShareDir + `/cmd.sh; rc=$?
echo $rc > $R` + GuestShareDir + `/rc
sync
poweroff -f
`

// WriteInitramfs writes the gzip'ed newc initramfs for kernel k to w: a
// static busybox (busybox is its path on the host; empty means
// DefaultBusybox), the modules the guest needs to reach the host's file
// system, and the /init script.
func WriteInitramfs(w io.Writer, k *Kernel, busybox string) error {
	if busybox == "" {
		busybox = DefaultBusybox
	}
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return fmt.Errorf("read static busybox (install busybox-static): %w", err)
	}
	if !isStaticELF(bb) {
		return fmt.Errorf("%s is not a static executable (install busybox-static)", busybox)
	}
	mods, err := moduleLoadOrder(k.ModulesDir(), guestModules)
	if err != nil {
		return fmt.Errorf("initramfs for %s: %w", k.Package, err)
	}

	gz, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	c := newCPIOWriter(gz)
	for _, d := range []string{"bin", "dev", "proc", "sys", "lib", "lib/modules", "mnt", "mnt/lower", "mnt/upper", "newroot"} {
		if err := c.Dir(d, 0o755); err != nil {
			return err
		}
	}
	if err := c.CharDevice("dev/console", 0o600, 5, 1); err != nil {
		return err
	}
	if err := c.File("bin/busybox", 0o755, bb); err != nil {
		return err
	}
	var order []string
	for _, p := range mods {
		ko, err := readModule(p)
		if err != nil {
			return err
		}
		name := moduleFileName(p)
		if err := c.File(path.Join("lib/modules", name), 0o644, ko); err != nil {
			return err
		}
		order = append(order, name)
	}
	if err := c.File("lib/modules/order", 0o644, []byte(strings.Join(order, "\n")+"\n")); err != nil {
		return err
	}
	script := fmt.Sprintf(initScript, shellQuote(k.ModulesDir()), shellQuote(filepath.Join(k.Root, "boot")))
	if err := c.File("init", 0o755, []byte(script)); err != nil {
		return err
	}
	if err := c.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("write initramfs: %w", err)
	}
	return nil
}

// moduleFileName is the plain .ko name of a possibly compressed module.
func moduleFileName(p string) string {
	base := filepath.Base(p)
	for _, ext := range moduleExts {
		if name, ok := strings.CutSuffix(base, ext); ok {
			return name + ".ko"
		}
	}
	return base
}

// isStaticELF reports whether b is an ELF executable without a PT_INTERP
// program header, i.e. one that needs no dynamic loader.
func isStaticELF(b []byte) bool {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false
		}
	}
	return f.Type == elf.ET_EXEC || f.Type == elf.ET_DYN
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
