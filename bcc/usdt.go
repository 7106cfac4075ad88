package bcc

import (
	"fmt"

	"github.com/gobcc/gobcc/bcc/usdt"
	"github.com/gobcc/gobcc/internal/compiler"
	"github.com/gobcc/gobcc/internal/usdtreq"
)

// ErrUSDT means a USDT context or probe could not be set up; it is
// usdt.ErrUSDT.
var ErrUSDT = usdt.ErrUSDT

// usdtRequests resolves Options.USDTContexts for the compile helper.
func usdtRequests(ctxs []*usdt.Context) ([]compiler.USDTContext, error) {
	if len(ctxs) == 0 {
		return nil, nil
	}
	return usdtreq.Requests(ctxs)
}

// attachUSDT attaches the uprobes the compile helper found for the USDT
// contexts (BCC's USDT.attach_uprobes).
func (b *BPF) attachUSDT(ignorePID bool) error {
	for _, p := range b.result.USDTUprobes {
		pid := p.PID
		if ignorePID || pid <= 0 {
			pid = -1
		}
		// As BCC's attach_uprobe(addr=, pid=): a process's binary is
		// probed through /proc/PID/root.
		path, off, err := b.usyms.Get().ResolveAddress(resolvePID(pid), p.BinPath, p.Addr)
		if err != nil {
			return fmt.Errorf("%w: probe for %s in %s: %w", ErrUSDT, p.FnName, p.BinPath, err)
		}
		if _, err := b.attachUprobeAt(path, off, p.FnName, pid, p.SemaphoreOffset, false); err != nil {
			return fmt.Errorf("%w: %w", ErrUSDT, err)
		}
	}
	return nil
}
