package testutil

import (
	"strings"
	"testing"
)

// CheckTraceTask checks a trace_pipe line's task column against comm, the
// name of the thread that wrote the line; the caller checks the pid. The
// kernel fills the column from its pid to comm cache, which it updates at
// the writer's next context switch after an event: until then a line shows
// "<...>" or, when the pid was reused (pid_max is 32768 on our machines),
// the previous owner's name; CI once saw BCC's python3 runner's lines under
// "tracefs.test". So another name is logged, and only a column that cannot
// be a comm (empty, longer than TASK_COMM_LEN-1, with blanks) fails.
func CheckTraceTask(tb testing.TB, what, task, comm string) {
	tb.Helper()
	switch {
	case task == comm || task == "<...>":
	case task == "" || len(task) > 15 || strings.ContainsAny(task, " \t"):
		tb.Errorf("%s: task %q, want %q", what, task, comm)
	default:
		tb.Logf("%s: task %q, not %q: the kernel's comm cache still held an earlier owner of the pid", what, task, comm)
	}
}
