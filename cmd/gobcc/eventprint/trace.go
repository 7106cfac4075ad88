package eventprint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/cmd/gobcc/cli"
	"github.com/gobcc/gobcc/tracepipe"
)

// jsonTrace is one trace_pipe line in --output json.
type jsonTrace struct {
	Type     string  `json:"type"`
	Task     string  `json:"task,omitempty"`
	PID      int     `json:"pid"`
	TGID     int     `json:"tgid,omitempty"`
	CPU      int     `json:"cpu"`
	Flags    string  `json:"flags,omitempty"`
	TS       float64 `json:"ts"`
	Function string  `json:"function,omitempty"`
	Message  string  `json:"message"`
	Lost     int     `json:"lost,omitempty"`
	Raw      string  `json:"raw"`
}

// WriteTraceEvent prints one trace_pipe line: raw, in columns (fields:
// time, task, PID, CPU, message, as BCC's trace_fields splits it) or as JSON.
func WriteTraceEvent(w io.Writer, ev tracepipe.Event, asJSON, fields bool) error {
	if asJSON {
		tgid := ev.TGID
		if tgid < 0 {
			tgid = 0
		}
		return cli.WriteJSON(w, jsonTrace{
			Type: "trace", Task: ev.Task, PID: ev.PID, TGID: tgid, CPU: ev.CPU, Flags: ev.Flags,
			TS: ev.Timestamp.Seconds(), Function: ev.Function, Message: ev.Message, Lost: ev.Lost, Raw: ev.Raw,
		})
	}
	var err error
	if fields && ev.Parsed && ev.Lost == 0 {
		_, err = fmt.Fprintf(w, "%-18s %-16s %-7d %-3d %s\n", ev.TimestampRaw, ev.Task, ev.PID, ev.CPU, ev.Message)
	} else {
		_, err = fmt.Fprintln(w, ev.Raw)
	}
	return err
}

// StreamTrace copies bpf_trace_printk output for run --trace until ctx
// ends, holding mu per line so table prints stay whole.
func StreamTrace(ctx context.Context, b *bcc.BPF, mu *sync.Mutex, w io.Writer, asJSON bool) error {
	for {
		ev, err := b.TraceFields(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, bcc.ErrClosed) {
				return nil
			}
			return fmt.Errorf("read trace_pipe: %w", err)
		}
		if ev.Raw == "" {
			// A message ending in "\n" leaves an empty line behind it.
			continue
		}
		mu.Lock()
		err = WriteTraceEvent(w, ev, asJSON, false)
		mu.Unlock()
		if err != nil {
			return err
		}
	}
}
