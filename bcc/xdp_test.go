package bcc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/testutil"
)

const xdpCountProg = `
BPF_ARRAY(pkts, u64, 2);
static void count(int k) {
	u64 *v = pkts.lookup(&k);
	if (v) __sync_fetch_and_add(v, 1);
}
int xdp_count(struct xdp_md *ctx) { count(0); return XDP_PASS; }
int sock_count(struct __sk_buff *skb) { count(1); return 0; }
`

// inNetns runs f on a thread that entered the named network namespace. The
// thread is never returned to the scheduler's pool: it ends with f.
func inNetns(t *testing.T, name string, f func() error) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread exits with the goroutine and takes
		// the namespace with it.
		ns, err := unix.Open(filepath.Join("/var/run/netns", name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(ns)
		if err := unix.Setns(ns, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

func newNetns(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("gobcc-test-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		testutil.RequireKernel(t, "ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up: %v: %s", err, out)
	}
	return name
}

// sendUDP sends n datagrams to 127.0.0.1 from the calling thread's
// namespace, to a socket bound there so that no ICMP error comes back.
func sendUDP(n int) error {
	to := &unix.SockaddrInet4{Port: 9999, Addr: [4]byte{127, 0, 0, 1}}
	r, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(r)
	if err := unix.Bind(r, to); err != nil {
		return err
	}
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	for i := 0; i < n; i++ {
		if err := unix.Sendto(s, []byte("gobcc"), 0, to); err != nil {
			return err
		}
	}
	return nil
}

// XDP (generic mode) and a raw socket filter on lo of a fresh namespace see
// the datagrams sent to 127.0.0.1 there; Close detaches XDP in that
// namespace although it runs on another thread.
func TestXDPAndRawSocketInNetns(t *testing.T) {
	testutil.RequireRoot(t)
	ns := newNetns(t)
	b, err := New(Options{Text: xdpCountProg})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const n = 10
	err = inNetns(t, ns, func() error {
		if _, err := b.AttachXDP("lo", "xdp_count", XDPFlagsSKBMode); err != nil {
			return err
		}
		if _, err := b.AttachRawSocket("sock_count", "lo"); err != nil {
			return err
		}
		return sendUDP(n)
	})
	if err != nil {
		t.Fatal(err)
	}
	show, _ := exec.Command("ip", "-n", ns, "link", "show", "lo").CombinedOutput()
	if !strings.Contains(string(show), "xdpgeneric") {
		t.Errorf("ip link shows no xdpgeneric on lo:\n%s", show)
	}
	// XDP sees each datagram once, on receive; the raw socket sees it on
	// transmit and on receive.
	if got := tableUint(t, b, "pkts", 0); got != n {
		t.Errorf("XDP counted %d packets, want %d", got, n)
	}
	if got := tableUint(t, b, "pkts", 1); got < n {
		t.Errorf("socket filter counted %d packets, want >= %d", got, n)
	}
	ids := progIDs(t, b)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	show, _ = exec.Command("ip", "-n", ns, "link", "show", "lo").CombinedOutput()
	if strings.Contains(string(show), "xdp") {
		t.Errorf("XDP still attached after Close:\n%s", show)
	}
	requireProgsGone(t, ids)
}

// RemoveXDP removes a program another BPF object attached; the object's
// Close then has nothing to remove and does not fail.
func TestRemoveXDP(t *testing.T) {
	testutil.RequireRoot(t)
	ns := newNetns(t)
	b, err := New(Options{Text: xdpCountProg})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	err = inNetns(t, ns, func() error {
		if _, err := b.AttachXDP("lo", "xdp_count", XDPFlagsSKBMode); err != nil {
			return err
		}
		return RemoveXDP("lo", XDPFlagsSKBMode)
	})
	if err != nil {
		t.Fatal(err)
	}
	show, _ := exec.Command("ip", "-n", ns, "link", "show", "lo").CombinedOutput()
	if strings.Contains(string(show), "xdp") {
		t.Errorf("XDP still attached after RemoveXDP:\n%s", show)
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close after RemoveXDP: %v", err)
	}
	if err := inNetns(t, ns, func() error { return attachErr(b.AttachXDP("lo", "xdp_count", 0)) }); err != ErrClosed {
		t.Errorf("attach after Close: %v", err)
	}
}

// A cgroup sock_create program attached with AttachFunc counts the sockets
// a child in the cgroup creates, and none after DetachFunc.
func TestAttachFuncCgroup(t *testing.T) {
	testutil.RequireRoot(t)
	root := "/sys/fs/cgroup/unified"
	if _, err := os.Stat(root + "/cgroup.procs"); err != nil {
		root = "/sys/fs/cgroup"
		if _, err := os.Stat(root + "/cgroup.procs"); err != nil {
			testutil.RequireKernel(t, "no cgroup v2 hierarchy")
		}
	}
	dir := filepath.Join(root, fmt.Sprintf("gobcc-test-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dir) })
	cg, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(cg)
	b, err := New(Options{Text: `
BPF_ARRAY(socks, u64, 1);
int on_sock(struct bpf_sock *sk) {
	int k = 0;
	u64 *v = socks.lookup(&k);
	if (v) __sync_fetch_and_add(v, 1);
	return 1;
}
`})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	fn, err := b.LoadFunc("on_sock", CgroupSock)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.AttachFunc(fn, cg, AttachCgroupInetSockCreate, 0); err != nil {
		t.Fatal(err)
	}
	makeSockets := func() {
		t.Helper()
		cmd := exec.Command("/usr/bin/python3", "-c", "import socket\nfor _ in range(3): socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()")
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("child: %v: %s", err, out)
		}
	}
	makeSockets()
	if got := tableUint(t, b, "socks", 0); got != 3 {
		t.Errorf("sockets counted = %d, want 3", got)
	}
	if err := b.DetachFunc(fn, cg, AttachCgroupInetSockCreate); err != nil {
		t.Fatal(err)
	}
	makeSockets()
	if got := tableUint(t, b, "socks", 0); got != 3 {
		t.Errorf("after DetachFunc sockets counted = %d, want 3", got)
	}
	// Attached again, its Link detaches it.
	l, err := b.AttachFunc(fn, cg, AttachCgroupInetSockCreate, 0)
	if err != nil {
		t.Fatal(err)
	}
	if l.Kind() != LinkProgAttach || l.Function() != "on_sock" {
		t.Errorf("link %v", l)
	}
	checkLinkCloses(t, l, func() error { return b.DetachFunc(fn, cg, AttachCgroupInetSockCreate) })
	makeSockets()
	if got := tableUint(t, b, "socks", 0); got != 3 {
		t.Errorf("after Link.Close sockets counted = %d, want 3", got)
	}
	// Attached again, Close detaches it: the program is freed.
	if _, err := b.AttachFunc(fn, cg, AttachCgroupInetSockCreate, 0); err != nil {
		t.Fatal(err)
	}
	ids := progIDs(t, b)
	b.Close()
	requireProgsGone(t, ids)
}

// The Links of an XDP program and a raw socket detach just their
// attachment, from any thread: the XDP program leaves the device in its
// namespace, the socket closes, and neither counts packets any more.
func TestLinkXDPAndRawSocket(t *testing.T) {
	testutil.RequireRoot(t)
	ns := newNetns(t)
	b, err := New(Options{Text: xdpCountProg})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const n = 5
	var xdp, sock *Link
	err = inNetns(t, ns, func() error {
		var err error
		if xdp, err = b.AttachXDP("lo", "xdp_count", XDPFlagsSKBMode); err != nil {
			return err
		}
		if sock, err = b.AttachRawSocket("sock_count", "lo"); err != nil {
			return err
		}
		return sendUDP(n)
	})
	if err != nil {
		t.Fatal(err)
	}
	if xdp.Kind() != LinkXDP || xdp.Target() != "lo" || xdp.FD() != -1 {
		t.Errorf("XDP link %v, FD %d", xdp, xdp.FD())
	}
	if sock.Kind() != LinkRawSocket || sock.FD() < 0 {
		t.Errorf("raw socket link %v, FD %d", sock, sock.FD())
	}
	if typ, err := unix.GetsockoptInt(sock.FD(), unix.SOL_SOCKET, unix.SO_TYPE); err != nil || typ != unix.SOCK_RAW {
		t.Errorf("raw socket FD %d: SO_TYPE %d, %v", sock.FD(), typ, err)
	}
	xdpBefore, sockBefore := tableUint(t, b, "pkts", 0), tableUint(t, b, "pkts", 1)
	if xdpBefore != n || sockBefore < n {
		t.Fatalf("counted XDP %d, socket %d; want %d, >= %d", xdpBefore, sockBefore, n, n)
	}
	// Closed from this thread, outside the namespace.
	checkLinkCloses(t, xdp, func() error { return b.RemoveXDP("lo") })
	checkLinkCloses(t, sock, nil)
	show, _ := exec.Command("ip", "-n", ns, "link", "show", "lo").CombinedOutput()
	if strings.Contains(string(show), "xdp") {
		t.Errorf("XDP still attached after Link.Close:\n%s", show)
	}
	if err := inNetns(t, ns, func() error { return sendUDP(n) }); err != nil {
		t.Fatal(err)
	}
	if x, s := tableUint(t, b, "pkts", 0), tableUint(t, b, "pkts", 1); x != xdpBefore || s != sockBefore {
		t.Errorf("after Link.Close counted XDP %d -> %d, socket %d -> %d", xdpBefore, x, sockBefore, s)
	}
}
