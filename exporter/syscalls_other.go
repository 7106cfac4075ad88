//go:build !amd64

package exporter

// syscallNames is empty off x86-64: the syscall decoder then prints numbers.
var syscallNames = map[uint64]string{}
