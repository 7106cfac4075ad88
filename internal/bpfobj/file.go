package bpfobj

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// ReadFile reads an object file written by gobcc build, checking where it
// came from: a regular file (not a link) owned by root or by this
// process's user, not writable by group or others, since anyone who could
// write it could make this process load their code into the kernel. It
// does not parse the bytes (Read does). Errors say which check failed.
func ReadFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%s is not a regular file", path)
	case fi.Mode().Perm()&0o022 != 0:
		return nil, fmt.Errorf("%s is writable by group or others (mode %v); chmod go-w it", path, fi.Mode().Perm())
	case st == nil || (st.Uid != 0 && int(st.Uid) != os.Geteuid()):
		uid := -1
		if st != nil {
			uid = int(st.Uid)
		}
		return nil, fmt.Errorf("%s is owned by uid %d, neither root nor this user", path, uid)
	case fi.Size() > MaxObjectSize:
		return nil, fmt.Errorf("%s: %d bytes", path, fi.Size())
	}
	return io.ReadAll(f)
}
