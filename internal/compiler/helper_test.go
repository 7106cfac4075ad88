package compiler

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gobcc/gobcc/internal/testutil"
)

// fakeHelper starts a shell script as the parent's side of a helper
// session: the script has the helper's socket as fd 3 and its output pipe
// as stdout and stderr, as compileInHelper sets up the real helper.
func fakeHelper(t *testing.T, script string) *helperSession {
	t.Helper()
	parent, child, err := socketPair()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.ExtraFiles = []*os.File{child}
	cmd.Stdout, cmd.Stderr = pw, pw
	err = cmd.Start()
	child.Close()
	pw.Close()
	if err != nil {
		parent.close()
		pr.Close()
		t.Fatal(err)
	}
	return &helperSession{cmd: cmd, c: parent, out: newOutputCollector(pr)}
}

// loadWithin runs s.Load and fails the test if it has not returned after a
// minute: a helper that dies must never leave its parent waiting.
func loadWithin(t *testing.T, s *helperSession) (LoadResult, error) {
	t.Helper()
	type result struct {
		r   LoadResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := s.Load(LoadRequest{Name: "f", ProgType: 5})
		done <- result{r, err}
	}()
	select {
	case res := <-done:
		return res.r, res.err
	case <-time.After(time.Minute):
		t.Fatal("Load still waiting a minute after the helper died")
		return LoadResult{}, nil
	}
}

// A helper that dies in the middle of its reply gives the caller an
// ErrHelperCrashed error with its last output, and leaves no descriptor
// and no process behind.
func TestHelperDiesMidReply(t *testing.T) {
	for _, tc := range []struct {
		name, script, want string
	}{
		// 16 bytes of body announced, 5 sent, then exit.
		{"exits", `printf '\020\000\000\000\000\000\000\000{"loa' >&3; echo 'last words' >&2; exit 7`, "exit status 7"},
		{"killed by a signal", `printf '\020\000\000\000' >&3; echo 'last words' >&2; kill -SEGV $$`, "killed by signal SIGSEGV"},
		{"header only", `printf '\020\000\000\000\000\000\000\000' >&3; echo 'last words' >&2; exit 1`, "exit status 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fds := testutil.CountFDs(t)
			s := fakeHelper(t, tc.script)
			r, err := loadWithin(t, s)
			if !errors.Is(err, ErrHelperCrashed) {
				t.Fatalf("Load: %v, want ErrHelperCrashed", err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "last words") {
				t.Errorf("error %q lacks %q or the helper's output", err, tc.want)
			}
			if r.FD != -1 {
				t.Errorf("result FD %d, want -1", r.FD)
			}
			if _, err := s.Load(LoadRequest{Name: "f"}); !errors.Is(err, ErrClosed) {
				t.Errorf("Load after the crash: %v, want ErrClosed", err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close after the crash: %v", err)
			}
			if got := testutil.CountFDs(t); got != fds {
				t.Errorf("%d descriptors open after, %d before", got, fds)
			}
			if c := testutil.Children(); len(c) != 0 {
				t.Errorf("child processes left: %v", c)
			}
		})
	}
}

// A reply that is a well-formed frame but no load result is an error, and
// the session stays usable for the next request.
func TestHelperUnexpectedReply(t *testing.T) {
	// Two replies of {"error":"no"} (14 bytes), each with the end-of-output
	// marker the parent reads up to; the stream socket holds the second
	// until the parent asks. Then wait for the parent to close.
	reply := `printf '\016\000\000\000\000\000\000\000{"error":"no"}' >&3; printf 'said no\000gobcc-helper-done\n' >&2; `
	s := fakeHelper(t, reply+reply+`cat <&3 >/dev/null`)
	for i := range 2 {
		r, err := loadWithin(t, s)
		if err == nil || err.Error() != "compile helper: no" || r.FD != -1 {
			t.Fatalf("Load %d: %+v, %v; want the helper's error", i, r, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if c := testutil.Children(); len(c) != 0 {
		t.Errorf("child processes left: %v", c)
	}
}
