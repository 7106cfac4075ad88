package libbcc

import (
	"errors"
	"syscall"
)

func errnoOf(err error) int {
	var en syscall.Errno
	if errors.As(err, &en) {
		return int(en)
	}
	return 0
}
