package tableprint

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/cmd/gobcc/cli"
)

// jsonTableInfo is one table of `gobcc tables -o json`.
type jsonTableInfo struct {
	Type       string `json:"type"`
	Name       string `json:"name"`
	MapType    string `json:"map_type"`
	Key        string `json:"key"`
	KeySize    int    `json:"key_size"`
	Leaf       string `json:"leaf"`
	LeafSize   int    `json:"leaf_size"`
	MaxEntries int    `json:"max_entries"`
}

// WriteInfo lists b's tables: name, map type, key and leaf C types with
// their sizes, and the maximum number of entries; as an aligned table or
// JSON lines.
func WriteInfo(w io.Writer, b *bcc.BPF, asJSON bool) error {
	if asJSON {
		for _, t := range b.Tables() {
			info := jsonTableInfo{
				Type: "table_info", Name: t.Name(), MapType: t.Type().String(),
				Key: t.KeyType().String(), KeySize: t.KeySize(),
				Leaf: t.LeafType().String(), LeafSize: t.LeafSize(), MaxEntries: t.MaxEntries(),
			}
			if err := cli.WriteJSON(w, info); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tKEY\tLEAF\tMAX ENTRIES")
	for _, t := range b.Tables() {
		fmt.Fprintf(tw, "%s\t%s\t%s (%d)\t%s (%d)\t%d\n", t.Name(), t.Type(),
			t.KeyType(), t.KeySize(), t.LeafType(), t.LeafSize(), t.MaxEntries())
	}
	return tw.Flush()
}
