package benchcmp

import (
	"os"

	"github.com/gobcc/gobcc/headers"
)

// The kernel-header rows of issue 13: a program including <linux/sched.h>
// compiled through the header tree gobcc generates from the kernel's BTF
// (warm header cache: the tree exists), through the program's type subset
// and through the whole tree, against BCC Python with the installed
// headers.

func init() {
	for _, v := range []struct{ key, title, note string }{
		{"btf", "through its BTF type subset",
			"bcc.New with Headers: btf and no compile cache, after one untimed New (the header tree and the program's type subset exist: a warm header cache) vs BPF(text=...) with the installed headers. " +
				"clang parses only the kernel types the program can reach (docs/headers.md)."},
		{"btf-whole", "through the whole BTF tree",
			"As new/large/btf, with GOBCC_NO_TYPE_SUBSETS=1: clang parses all of the kernel's types (~3 MB) and macros (~1.5 MB), twice."},
	} {
		Register(Measurement{
			Name:   "new/large/" + v.key,
			Group:  "compile",
			Title:  "New of a 114-line program including `<linux/sched.h>`, warm header cache, " + v.title + ", vs BCC with installed headers",
			Unit:   Seconds,
			Gobcc:  measureNewHeaders,
			Python: "compile_load.py",
			Args:   map[string]string{"src": largeFile, "mode": "helper", "headers": headers.BTF, "subsets": map[string]string{"btf": "1", "btf-whole": "0"}[v.key]},
			Warmup: true,
			Note:   v.note,
		})
	}
}

// measureNewHeaders is measureNew with the headers argument as
// Options.Headers, and subsets=0 turning type subsets off.
func measureNewHeaders(p Params) (float64, error) {
	if p.String("subsets", "1") == "0" {
		os.Setenv("GOBCC_NO_TYPE_SUBSETS", "1")
		defer os.Unsetenv("GOBCC_NO_TYPE_SUBSETS")
	}
	os.Setenv(headers.Env, p.String("headers", headers.Auto))
	defer os.Unsetenv(headers.Env)
	return measureNew(p)
}
