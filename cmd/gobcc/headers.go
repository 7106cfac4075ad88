package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gobcc/gobcc/bcc"
)

// headersFlagHelp documents --headers.
const headersFlagHelp = `kernel headers to compile against: auto (the installed ones only when they are the running kernel's, else a tree generated from its BTF), btf, installed, or a directory`

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

func newHeadersCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "headers",
		Short: "Say which kernel header tree a compile would use and why",
		Long: `headers resolves --headers (default auto) as a compile would, generating the
tree from the kernel's BTF into the cache if needed, and prints its kind,
directory and the reason. The directory can be given to BCC Python:
BCC_KERNEL_SOURCE=$(gobcc headers --headers btf --dir-only) python3 tool.py`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dirOnly, _ := cmd.Flags().GetBool("dir-only")
			t, err := bcc.ResolveHeaders(g.headers)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			switch {
			case dirOnly:
				fmt.Fprintln(w, t.Dir)
			case g.json():
				writeJSON(w, headerTreeJSON{Type: "headers", Policy: policyName(g.headers), Kind: t.Kind, Dir: t.Dir, Release: t.Release, Reason: t.Reason, Generated: t.Generated, Warnings: t.Warnings})
			default:
				fmt.Fprintf(w, "kind:    %s\ndir:     %s\nrelease: %s\nreason:  %s\n", t.Kind, t.Dir, t.Release, t.Reason)
				if t.Generated {
					fmt.Fprintln(w, "(generated now from the kernel's BTF)")
				}
				for _, warn := range t.Warnings {
					fmt.Fprintf(w, "warning: %s\n", warn)
				}
			}
			return nil
		},
	}
	cmd.Flags().Bool("dir-only", false, "print only the tree's directory")
	return cmd
}

func policyName(p string) string {
	if p == "" {
		return bcc.HeadersAuto
	}
	return p
}

// checkHeaderTree is doctor's line on the header tree compiles use.
func checkHeaderTree(g *globalOptions, release string) (finding, string) {
	f := finding{Check: "kernel headers"}
	t, err := bcc.ResolveHeaders(g.headers)
	if err != nil {
		f.Status = statusFail
		f.Detail = fmt.Sprintf("--headers %s: %v", policyName(g.headers), err)
		f.Advice = "programs that include kernel headers will not compile; the kernel needs BTF (CONFIG_DEBUG_INFO_BTF) or install linux-headers-" + release
		return f, ""
	}
	f.Status = statusOK
	if t.Kind == "installed" && t.Release != "" && t.Release != release {
		f.Status = statusWarn
		f.Advice = "kernel struct reads are checked below; --headers btf (or auto) compiles against the running kernel's layout"
	}
	f.Detail = fmt.Sprintf("%s tree %s: %s", t.Kind, t.Dir, t.Reason)
	return f, t.Release
}
