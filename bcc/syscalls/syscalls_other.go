//go:build !amd64

package syscalls

// table is empty where gobcc carries no syscall table.
var table = map[int]string{}
