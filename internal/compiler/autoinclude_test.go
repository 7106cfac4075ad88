package compiler

import "testing"

func TestAutoIncludes(t *testing.T) {
	got := AutoIncludes([]string{"struct", "bio", "*b;", "ts", "filename", "kmalloc", "bio2"})
	want := "#include <linux/fs.h>\n#include <linux/blkdev.h>\n#include <linux/slab.h>\n"
	if got != want {
		t.Errorf("AutoIncludes = %q, want %q", got, want)
	}
	if got := AutoIncludes([]string{"u32", "pid"}); got != "" {
		t.Errorf("no keyword: %q", got)
	}
}
