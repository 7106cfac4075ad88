package doctor

import (
	"fmt"
	"io"

	"github.com/gobcc/gobcc/cmd/gobcc/cli"
	"github.com/gobcc/gobcc/headers"
)

// headerTreeJSON is the --output json form of `gobcc headers`.
type headerTreeJSON struct {
	Type      string   `json:"type"`
	Policy    string   `json:"policy"`
	Kind      string   `json:"kind"`
	Dir       string   `json:"dir"`
	Release   string   `json:"release,omitempty"`
	Reason    string   `json:"reason"`
	Generated bool     `json:"generated"`
	Warnings  []string `json:"warnings,omitempty"`
}

// WriteHeaderTree prints gobcc headers' report of a resolved tree: its
// kind, directory, release and why it was chosen; only the directory
// (dirOnly), or a JSON line.
func WriteHeaderTree(w io.Writer, policy string, t headers.Tree, dirOnly, asJSON bool) error {
	switch {
	case dirOnly:
		_, err := fmt.Fprintln(w, t.Dir)
		return err
	case asJSON:
		return cli.WriteJSON(w, headerTreeJSON{Type: "headers", Policy: PolicyName(policy), Kind: t.Kind, Dir: t.Dir, Release: t.Release, Reason: t.Reason, Generated: t.Generated, Warnings: t.Warnings})
	}
	fmt.Fprintf(w, "kind:    %s\ndir:     %s\nrelease: %s\nreason:  %s\n", t.Kind, t.Dir, t.Release, t.Reason)
	if t.Generated {
		fmt.Fprintln(w, "(generated now from the kernel's BTF)")
	}
	for _, warn := range t.Warnings {
		if _, err := fmt.Fprintf(w, "warning: %s\n", warn); err != nil {
			return err
		}
	}
	return nil
}

// PolicyName is a --headers policy as reports name it: "" is auto.
func PolicyName(p string) string {
	if p == "" {
		return headers.Auto
	}
	return p
}

// HeaderTreeFinding is doctor's line on the header tree compiles use under
// the --headers policy, and the release the tree is for.
func HeaderTreeFinding(policy, release string) (Finding, string) {
	f := Finding{Check: "kernel headers"}
	t, err := headers.Resolve(policy)
	if err != nil {
		f.Status = StatusFail
		f.Detail = fmt.Sprintf("--headers %s: %v", PolicyName(policy), err)
		f.Advice = "programs that include kernel headers will not compile; the kernel needs BTF (CONFIG_DEBUG_INFO_BTF) or install linux-headers-" + release
		return f, ""
	}
	f.Status = StatusOK
	if t.Kind == "installed" && t.Release != "" && t.Release != release {
		f.Status = StatusWarn
		f.Advice = "kernel struct reads are checked below; --headers btf (or auto) compiles against the running kernel's layout"
	}
	f.Detail = fmt.Sprintf("%s tree %s: %s", t.Kind, t.Dir, t.Reason)
	return f, t.Release
}
