// Package cli holds what gobcc's command packages share: the usage error
// that maps to exit status 2, one-line JSON output, and the table
// selections of flags such as --ksym and --log2. It keeps the printing
// packages (eventprint, tableprint, doctor, probelist) independent of the
// cobra commands in cmd/gobcc, which only wire flags to them.
package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// ErrUsage marks command-line mistakes (gobcc exits with status 2).
var ErrUsage = errors.New("usage error")

// UsageErrorf formats an error that wraps ErrUsage.
func UsageErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %w", ErrUsage, fmt.Errorf(format, args...))
}

// MarshalLine encodes v as one JSON line, newline included.
func MarshalLine(v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode JSON: %w", err)
	}
	return append(data, '\n'), nil
}

// WriteJSON writes v as one JSON line (the --output json form).
func WriteJSON(w io.Writer, v any) error {
	data, err := MarshalLine(v)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// TableSelection names tables by flag: every table, or those listed. It is
// a pflag.Value.
type TableSelection struct {
	All   bool
	Names map[string]bool
}

// Set adds comma-separated table names; "" or "*" selects every table.
func (s *TableSelection) Set(v string) error {
	if v == "" || v == "*" {
		s.All = true
		return nil
	}
	if s.Names == nil {
		s.Names = make(map[string]bool)
	}
	for _, n := range strings.Split(v, ",") {
		if n = strings.TrimSpace(n); n != "" {
			s.Names[n] = true
		}
	}
	return nil
}

// String lists the selection for --help.
func (s *TableSelection) String() string {
	if s.All {
		return "*"
	}
	names := make([]string, 0, len(s.Names))
	for n := range s.Names {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// Type names the value in --help.
func (s *TableSelection) Type() string { return "tables" }

// Has reports whether the selection includes the table name.
func (s *TableSelection) Has(name string) bool { return s.All || s.Names[name] }
