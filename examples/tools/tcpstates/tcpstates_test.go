package main

import (
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gobcc/gobcc/examples/tools/tooltest"
	"github.com/gobcc/gobcc/internal/testutil"
)

// connect makes one TCP connection on loopback to the listener and closes
// it, client first. It returns the client's port.
func connect(t *testing.T, ln net.Listener) string {
	t.Helper()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	clientPort := strconv.Itoa(c.LocalAddr().(*net.TCPAddr).Port)
	c.Close()
	buf := make([]byte, 1)
	s.Read(buf) // the client's FIN
	s.Close()
	return clientPort
}

// transitions returns the state changes of the connection from clientPort
// in the default or -s output, "LADDR:LPORT RADDR:RPORT OLD -> NEW": the
// rows of its socket (SKADDR) from its last CLOSE -> SYN_SENT on (a
// socket's address is reused by later connections).
func transitions(out, clientPort string) []string {
	row := regexp.MustCompile(`^([0-9a-f]+)[ ,]+\d+[ ,]+.*?[ ,]+4?,?(\d+\.\d+\.\d+\.\d+)[ ,]+(\d+)[ ,]+(\d+\.\d+\.\d+\.\d+)[ ,]+(\d+)[ ,]+([A-Z_0-9]+)(?: +-> +|,)([A-Z_0-9]+)[ ,]+\d+\.\d{3}$`)
	var rows [][]string
	skaddr := ""
	for _, l := range strings.Split(out, "\n") {
		if m := row.FindStringSubmatch(l); m != nil {
			rows = append(rows, m)
			if m[3] == clientPort {
				skaddr = m[1]
			}
		}
	}
	// Events come from per-CPU perf rings, so a connection's transitions
	// may print out of order (its close read from one CPU's ring before its
	// connect from another's): collect them as a set, in the states' order.
	// The socket's CLOSE -> SYN_SENT has no local port yet; it is known by
	// the socket address.
	order := []string{"CLOSE -> SYN_SENT", "SYN_SENT -> ESTABLISHED", "ESTABLISHED -> FIN_WAIT1", "FIN_WAIT1 -> FIN_WAIT2", "FIN_WAIT2 -> CLOSE"}
	seen := map[string]string{}
	var extra []string
	for _, m := range rows {
		if m[1] != skaddr || (m[3] != clientPort && !(m[3] == "0" && m[6] == "CLOSE" && m[7] == "SYN_SENT")) {
			continue
		}
		tr := m[6] + " -> " + m[7]
		if _, dup := seen[tr]; dup {
			continue
		}
		seen[tr] = m[2] + ":" + m[3] + " " + m[4] + ":" + m[5] + " " + tr
		if !slices.Contains(order, tr) {
			extra = append(extra, tr)
		}
	}
	var r []string
	for _, tr := range append(order, extra...) {
		if line, ok := seen[tr]; ok {
			r = append(r, line)
		}
	}
	return r
}

func TestTcpstates(t *testing.T) {
	testutil.RequireRoot(t)
	tool := tooltest.BuildTool(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)

	// One gobcc instance (a compile including net/sock.h takes seconds on
	// this machine): the client's socket, by remote port, as CSV.
	client := tooltest.Start(t, tool, "-D", port, "-s")
	py, hasPy := tooltest.Python("tcpstates")
	var pyProc *tooltest.Proc
	if hasPy {
		pyProc = tooltest.Start(t, py, "-D", port)
		pyProc.WaitFor("SKADDR")
	}
	client.WaitFor("SKADDR,C-PID,C-COMM,IP,LADDR,LPORT,RADDR,RPORT,OLDSTATE,NEWSTATE,MS")
	if pyProc != nil {
		// BCC prints its header before it opens its perf buffers, and
		// drops what comes in between: connect until it shows a
		// connection, then make the one compared.
		// The warm-up connections stay open until the test ends, so
		// that the compared one cannot reuse a socket address of theirs.
		for i := 0; i < 200 && !strings.Contains(pyProc.Output(), "-> ESTABLISHED"); i++ {
			c, err := net.Dial("tcp4", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			s, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			time.Sleep(50 * time.Millisecond)
		}
	}
	clientPort := connect(t, ln)

	// Wait for the compared connection's whole life: its port may have
	// served an earlier connection whose lines are in the output too, and
	// transitions keeps only the last life of the socket.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got := transitions(client.Output(), clientPort); len(got) == 5 && strings.HasSuffix(got[4], "FIN_WAIT2 -> CLOSE") {
			break
		}
	}
	client.Interrupt()
	out := client.Wait()
	t.Logf("gobcc -D -s:\n%s", out)

	got := transitions(out, clientPort)
	wantClient := []string{"CLOSE -> SYN_SENT", "SYN_SENT -> ESTABLISHED", "ESTABLISHED -> FIN_WAIT1", "FIN_WAIT1 -> FIN_WAIT2", "FIN_WAIT2 -> CLOSE"}
	if len(got) != len(wantClient) {
		t.Fatalf("client transitions %q, want %q", got, wantClient)
	}
	for i, w := range wantClient {
		if !strings.HasSuffix(got[i], w) || !strings.Contains(got[i], " 127.0.0.1:"+port+" ") {
			t.Errorf("client transition %d: %q, want %q to 127.0.0.1:%s", i, got[i], w, port)
		}
	}
	if pyProc != nil {
		pyProc.WaitFor(clientPort + " 127.0.0.1       " + port + " FIN_WAIT2   -> CLOSE")
		pyProc.Interrupt()
		pyOut := pyProc.Output()
		t.Logf("BCC:\n%s", pyOut)
		if want := transitions(pyOut, clientPort); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("gobcc and BCC differ:\n%s\n--\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}
