package testutil

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// DisableExamples keeps the test binary from running its Example
// functions, and says why on stderr. An example's output is checked, not
// skipped like a test's, so an example that needs root or libbcc cannot
// skip itself: a TestMain calls this instead when the machine lacks them
// (and GOBCC_REQUIRE_KERNEL=1 is not set, under which they must fail).
// It adds "^Example" to -test.skip and must run after flag.Parse, before
// m.Run.
func DisableExamples(reason string) {
	f := flag.Lookup("test.skip")
	if f == nil {
		return
	}
	skip := f.Value.String()
	switch {
	case skip == "":
		skip = "^Example"
	case !strings.Contains(skip, "/"):
		skip = "(?:" + skip + ")|^Example"
	default:
		// A pattern with subtest levels cannot take an alternative at the
		// top level only; the caller's pattern wins.
		return
	}
	if err := f.Value.Set(skip); err != nil {
		return
	}
	fmt.Fprintf(os.Stderr, "examples not run: %s\n", reason)
}
