package bcc

import "github.com/gobcc/gobcc/internal/compiler"

// compileHeaders resolves the header policy for New (see package headers):
// the BCC_KERNEL_SOURCE value for the compile ("" for libbcc's own choice)
// and the warnings to keep.
func compileHeaders(policy string) (string, []string, error) {
	t, err := compiler.ResolveHeaders(policy)
	if err != nil {
		return "", nil, err
	}
	return compiler.KernelSource(t), t.Warnings, nil
}
