package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNoExitStatus means the guest stopped without reporting the command's
// exit status: the kernel panicked, /init failed, or qemu died.
var ErrNoExitStatus = errors.New("guest reported no exit status")

// DefaultPath is the PATH the command sees in the guest.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/go/bin"

// Config describes one guest run.
type Config struct {
	// Kernel is the unpacked kernel package to boot (see FetchKernel).
	Kernel *Kernel
	// Busybox is the host path of a static busybox; empty means
	// DefaultBusybox.
	Busybox string
	// QEMU is the qemu binary; empty means qemu-system-x86_64 from PATH.
	QEMU string
	// Accel is qemu's -accel value; empty means TCG ("tcg,thread=multi").
	// KVM is not the default: a /dev/kvm that opens is no proof that KVM
	// works (on a nested or paravirtual host the guest can hang at boot).
	Accel string
	// CPUs and MemoryMB size the guest; zero means 1 CPU and 1536 MiB.
	// One CPU is the default because TCG guests with two twice soft-locked
	// both CPUs for minutes (see docs/testing.md).
	CPUs     int
	MemoryMB int
	// Timeout bounds the whole run, boot included; zero means none beyond
	// the context's.
	Timeout time.Duration
	// Dir is the guest directory the command starts in; empty means /.
	// The host's file system is visible at the same paths in the guest.
	Dir string
	// Env are extra KEY=VALUE variables for the command, on top of PATH,
	// HOME=/root and TERM=dumb.
	Env []string
	// ShareDir, when set, is a host directory the guest sees writable at
	// GuestShareDir; files the caller puts there (test binaries) are
	// visible to the command. When empty Run makes a temporary one. Run
	// adds cmd.sh and rc to it and removes both; the caller owns the rest.
	ShareDir string
	// Stdout receives the guest's console: the command's standard output
	// and error, and the kernel's and /init's messages. Nil discards it.
	Stdout io.Writer
}

// Command is what the guest runs: Args, executed in Config.Dir, or Script,
// a POSIX shell script run with /bin/sh. Exactly one must be set.
type Command struct {
	Args   []string
	Script string
}

// Run boots the guest described by cfg, runs cmd in it and returns the
// command's exit status. An error means the guest did not report one: qemu
// failed, the guest crashed, the timeout passed (the error wraps
// context.DeadlineExceeded) or ctx was canceled (it wraps
// context.Canceled). In every case qemu has exited and the run's temporary
// files are gone when Run returns.
func Run(ctx context.Context, cfg Config, cmd Command) (int, error) {
	if cfg.Kernel == nil {
		return -1, errors.New("vm: Config.Kernel is nil")
	}
	if (len(cmd.Args) == 0) == (cmd.Script == "") {
		return -1, errors.New("vm: set exactly one of Command.Args and Command.Script")
	}
	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
	}

	tmp, err := MkdirTemp("run")
	if err != nil {
		return -1, err
	}
	defer os.RemoveAll(tmp)
	share := cfg.ShareDir
	if share == "" {
		share = filepath.Join(tmp, "share")
		if err := os.Mkdir(share, 0o755); err != nil {
			return -1, fmt.Errorf("vm: %w", err)
		}
	}
	scriptPath, rcPath := filepath.Join(share, "cmd.sh"), filepath.Join(share, "rc")
	defer os.Remove(scriptPath)
	defer os.Remove(rcPath)
	_ = os.Remove(rcPath)
	if err := os.WriteFile(scriptPath, []byte(guestScript(cfg, cmd)), 0o755); err != nil {
		return -1, fmt.Errorf("vm: write the guest's command: %w", err)
	}

	initrd := filepath.Join(tmp, "initramfs.cpio.gz")
	f, err := os.Create(initrd)
	if err != nil {
		return -1, fmt.Errorf("vm: %w", err)
	}
	err = WriteInitramfs(f, cfg.Kernel, cfg.Busybox)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return -1, fmt.Errorf("vm: %w", err)
	}

	qemu := exec.CommandContext(ctx, qemuBinary(cfg), qemuArgs(cfg, initrd, share)...)
	out := cfg.Stdout
	if out == nil {
		out = io.Discard
	}
	qemu.Stdout = &crStripper{w: out}
	qemu.Stderr = qemu.Stdout
	// Stdin stays /dev/null: qemu would put a terminal into raw mode.
	qemu.SysProcAttr = &syscall.SysProcAttr{
		// Kill qemu when this process dies, whatever the way.
		Pdeathsig: syscall.SIGKILL,
		// Its own process group: a Ctrl-C meant for us reaches qemu only
		// through ctx, so that Run still collects it and cleans up.
		Setpgid: true,
	}
	qemu.WaitDelay = 5 * time.Second
	runErr := qemu.Run()
	if ctxErr := ctx.Err(); ctxErr != nil {
		return -1, fmt.Errorf("vm: guest stopped: %w", ctxErr)
	}
	rc, rcErr := readExitStatus(rcPath)
	if rcErr != nil {
		if runErr != nil {
			return -1, fmt.Errorf("vm: %s: %w (%w)", qemu.Path, runErr, ErrNoExitStatus)
		}
		return -1, fmt.Errorf("vm: %w: %w", ErrNoExitStatus, rcErr)
	}
	return rc, nil
}

func qemuBinary(cfg Config) string {
	if cfg.QEMU != "" {
		return cfg.QEMU
	}
	return "qemu-system-x86_64"
}

// qemuArgs is the qemu command line: TCG with a thread per CPU unless
// Config.Accel says otherwise; the host's / read-only over 9p and share writable.
func qemuArgs(cfg Config, initrd, share string) []string {
	cpus, mem := cfg.CPUs, cfg.MemoryMB
	if cpus <= 0 {
		cpus = 1
	}
	if mem <= 0 {
		mem = 1536
	}
	accel := cfg.Accel
	if accel == "" {
		accel = "tcg,thread=multi"
	}
	return []string{
		"-no-reboot", "-machine", "q35", "-accel", accel, "-cpu", "max",
		"-smp", strconv.Itoa(cpus), "-m", strconv.Itoa(mem),
		"-kernel", cfg.Kernel.Vmlinuz(), "-initrd", initrd,
		// softlockup_panic: a guest CPU stuck for 20 s panics, and panic=-1
		// with -no-reboot ends qemu, instead of the run waiting out its
		// timeout; loglevel=5 lets the stuck CPU's stack reach the console.
		"-append", "console=ttyS0 panic=-1 softlockup_panic=1 quiet loglevel=5",
		"-fsdev", "local,id=root,path=/,security_model=passthrough,readonly=on,multidevs=remap",
		"-device", "virtio-9p-pci,fsdev=root,mount_tag=" + rootTag,
		"-fsdev", "local,id=share,path=" + share + ",security_model=passthrough",
		"-device", "virtio-9p-pci,fsdev=share,mount_tag=" + shareTag,
		"-nic", "none", "-display", "none", "-serial", "stdio", "-monitor", "none",
	}
}

// guestScript is the cmd.sh the guest's /init runs chrooted into the
// overlay: a clean environment, the directory, then the command.
func guestScript(cfg Config, cmd Command) string {
	var b strings.Builder
	env := map[string]string{"PATH": DefaultPath, "HOME": "/root", "TERM": "dumb"}
	for _, kv := range cfg.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "export %s=%s\n", k, shellQuote(env[k]))
	}
	dir := cfg.Dir
	if dir == "" {
		dir = "/"
	}
	fmt.Fprintf(&b, "cd %s || exit 125\n", shellQuote(dir))
	if cmd.Script != "" {
		b.WriteString(cmd.Script)
		b.WriteString("\n")
		return b.String()
	}
	b.WriteString("exec")
	for _, a := range cmd.Args {
		b.WriteString(" " + shellQuote(a))
	}
	b.WriteString("\n")
	return b.String()
}

func readExitStatus(path string) (int, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return -1, err
	}
	rc, err := strconv.Atoi(string(bytes.TrimSpace(content)))
	if err != nil {
		return -1, fmt.Errorf("exit status file holds %q: %w", content, err)
	}
	return rc, nil
}

// crStripper drops the carriage returns the guest's serial console adds
// before every newline.
type crStripper struct{ w io.Writer }

func (c *crStripper) Write(p []byte) (int, error) {
	if bytes.IndexByte(p, '\r') < 0 {
		return c.w.Write(p)
	}
	if _, err := c.w.Write(bytes.ReplaceAll(p, []byte("\r"), nil)); err != nil {
		return 0, err
	}
	return len(p), nil
}
