package usym

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"
)

// ListFunctions returns the distinct function names of binary name (a
// path, a library name such as "c", or an executable on $PATH) that match
// the shell glob pattern ("" is "*"), sorted, every alias included, and
// the file they were found in.
func ListFunctions(name, pattern string) (string, []string, error) {
	if pattern == "" {
		pattern = "*"
	}
	if _, err := path.Match(pattern, ""); err != nil {
		return "", nil, fmt.Errorf("pattern %q: %w", pattern, err)
	}
	binPath, err := findListedBinary(name)
	if err != nil {
		return "", nil, err
	}
	syms, err := FunctionSymbols(binPath, nil)
	if err != nil {
		return "", nil, fmt.Errorf("user functions of %s: %w", binPath, err)
	}
	var out []string
	for _, s := range syms {
		if ok, _ := path.Match(pattern, s.Name); ok {
			out = append(out, s.Name)
		}
	}
	slices.Sort(out)
	return binPath, slices.Compact(out), nil
}

// findListedBinary finds a binary as uprobes do: a path, a library name,
// or an executable on $PATH.
func findListedBinary(name string) (string, error) {
	if strings.Contains(name, "/") {
		if _, err := os.Stat(name); err != nil {
			return "", fmt.Errorf("binary %s: %w", name, err)
		}
		return name, nil
	}
	if p, err := WhichSO(name, 0); err == nil {
		return p, nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("binary %q: neither a library nor on $PATH: find executable: %w", name, err)
	}
	return p, nil
}
