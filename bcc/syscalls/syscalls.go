// Package syscalls maps system call numbers to names and back, as BCC
// Python's bcc.syscall module does (syscall_name, syscalls), for tools that
// count raw_syscalls:sys_enter by number.
//
// The table is the x86-64 one from the kernel's uapi headers, generated
// into the package (go generate), so no headers or ausyscall are needed at
// run time. On other architectures the table is empty and Name returns
// the "[unknown: N]" form.
package syscalls

//go:generate go run gen.go

import (
	"maps"
	"strconv"
)

// Name returns the name of syscall nr ("read" for 0 on x86-64), or
// "[unknown: nr]" as BCC prints numbers it does not know.
func Name(nr int) string {
	if s, ok := table[nr]; ok {
		return s
	}
	return "[unknown: " + strconv.Itoa(nr) + "]"
}

// Lookup returns the name of syscall nr and whether the table knows it.
func Lookup(nr int) (string, bool) {
	s, ok := table[nr]
	return s, ok
}

// Number returns the number of the named syscall.
func Number(name string) (int, bool) {
	for nr, s := range table {
		if s == name {
			return nr, true
		}
	}
	return 0, false
}

// All returns a copy of the number-to-name table (BCC's syscalls dict).
func All() map[int]string { return maps.Clone(table) }
