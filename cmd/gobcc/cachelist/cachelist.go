// Package cachelist prints the compile cache's entries as gobcc cache ls
// shows them: one line per entry, most recently used first, and a total;
// or JSON lines.
package cachelist

import (
	"fmt"
	"io"
	"time"

	"github.com/gobcc/gobcc/cache"
	"github.com/gobcc/gobcc/cmd/gobcc/cli"
)

// jsonEntry is one entry of `gobcc cache ls -o json`.
type jsonEntry struct {
	Type     string `json:"type"`
	Key      string `json:"key"`
	Size     int64  `json:"size"`
	LastUsed string `json:"last_used"`
}

// Write prints entries (from cache.Entries) of the cache in dir: the
// key's first 16 characters, the size and the last use, then a total line;
// with asJSON one object per entry and no total.
func Write(w io.Writer, entries []cache.Entry, dir string, asJSON bool) error {
	var total int64
	for _, e := range entries {
		total += e.Size
		if asJSON {
			if err := cli.WriteJSON(w, jsonEntry{Type: "cache_entry", Key: e.Key, Size: e.Size, LastUsed: e.LastUsed.Format(time.RFC3339)}); err != nil {
				return err
			}
			continue
		}
		key := e.Key
		if len(key) > 16 {
			key = key[:16]
		}
		if _, err := fmt.Fprintf(w, "%s  %8d  %s\n", key, e.Size, e.LastUsed.Format(time.DateTime)); err != nil {
			return err
		}
	}
	if asJSON {
		return nil
	}
	_, err := fmt.Fprintf(w, "%d entries, %d bytes in %s\n", len(entries), total, dir)
	return err
}
