package compiler

import (
	"fmt"

	"github.com/gobcc/gobcc/internal/libbcc"
)

// USDTContext asks for the USDT probes of a process (PID > 0, optionally
// only those of Path) or of a binary (Path), each run by a BPF function.
type USDTContext struct {
	PID    int         `json:"pid,omitempty"`
	Path   string      `json:"path,omitempty"`
	Probes []USDTProbe `json:"probes"`
}

// USDTProbe is one probe to enable: Provider may be empty.
type USDTProbe struct {
	Provider string `json:"provider,omitempty"`
	Name     string `json:"name"`
	FnName   string `json:"fn_name"`
}

// USDTUprobe is one uprobe an enabled USDT probe needs.
type USDTUprobe struct {
	BinPath string `json:"bin_path"`
	FnName  string `json:"fn_name"`
	// Addr is the probe's address in the binary's layout (not yet a file
	// offset).
	Addr uint64 `json:"addr"`
	// PID is the context's process, -1 for a binary context.
	PID int `json:"pid"`
	// SemaphoreOffset is the file offset of the probe's semaphore, 0 when
	// it has none: the kernel counts it while the uprobe exists.
	SemaphoreOffset uint64 `json:"semaphore_offset,omitempty"`
}

// openUSDT opens and enables the contexts and returns libbcc's argument
// code, to go before the program text as BCC Python's BPF.__init__ puts it.
// A #line directive keeps clang's line numbers those of the user's text.
func openUSDT(lib *libbcc.Library, reqs []USDTContext) (string, []*libbcc.USDTContext, error) {
	var ctxs []*libbcc.USDTContext
	fail := func(err error) (string, []*libbcc.USDTContext, error) {
		closeUSDT(ctxs)
		return "", nil, err
	}
	for _, r := range reqs {
		var c *libbcc.USDTContext
		var err error
		if r.PID > 0 {
			c, err = lib.NewUSDTFromPID(r.PID, r.Path)
		} else {
			c, err = lib.NewUSDTFromPath(r.Path)
		}
		if err != nil {
			return fail(err)
		}
		ctxs = append(ctxs, c)
		for _, p := range r.Probes {
			if err := c.EnableProbe(p.Provider, p.Name, p.FnName); err != nil {
				return fail(fmt.Errorf("%w (process %d, path %q)", err, r.PID, r.Path))
			}
		}
	}
	text, err := lib.USDTGenArgs(ctxs)
	if err != nil {
		return fail(err)
	}
	return text + "\n#line 1 \"" + "/virtual/main.c" + "\"\n", ctxs, nil
}

// usdtUprobes lists the uprobes of the enabled probes with their
// semaphores' file offsets.
func usdtUprobes(ctxs []*libbcc.USDTContext, reqs []USDTContext) ([]USDTUprobe, error) {
	var out []USDTUprobe
	for i, c := range ctxs {
		ups, err := c.Uprobes()
		if err != nil {
			return nil, err
		}
		probes, err := c.Probes()
		if err != nil {
			return nil, err
		}
		sem := make(map[string]uint64) // fn name -> semaphore offset
		for _, want := range reqs[i].Probes {
			for _, p := range probes {
				if p.Name == want.Name && (want.Provider == "" || p.Provider == want.Provider) && p.SemaphoreOffset != 0 {
					sem[want.FnName] = p.SemaphoreOffset
				}
			}
		}
		for _, u := range ups {
			out = append(out, USDTUprobe{BinPath: u.BinPath, FnName: u.FnName, Addr: u.Addr, PID: u.PID, SemaphoreOffset: sem[u.FnName]})
		}
	}
	return out, nil
}

// closeUSDT frees contexts; libbcc decrements the semaphores it raised.
func closeUSDT(ctxs []*libbcc.USDTContext) {
	for _, c := range ctxs {
		c.Close()
	}
}
