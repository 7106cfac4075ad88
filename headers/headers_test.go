package headers_test

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/gobcc/gobcc/headers"
	"github.com/gobcc/gobcc/internal/testutil"
)

func TestResolveBTFAndStructFields(t *testing.T) {
	testutil.RequireRoot(t)
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		testutil.RequireKernel(t, "no kernel BTF: %v", err)
	}
	t.Setenv("GOBCC_CACHE_DIR", t.TempDir())
	tree, err := headers.Resolve(headers.BTF)
	if err != nil {
		t.Fatal(err)
	}
	if tree.Kind != "btf" || tree.Dir == "" {
		t.Fatalf("Resolve(BTF) = %+v, want a btf tree", tree)
	}
	if _, err := os.Stat(tree.Dir + "/include"); err != nil {
		t.Errorf("BTF tree has no include/: %v", err)
	}
	has, err := headers.KernelStructHasField("task_struct", "pid")
	if err != nil || !has {
		t.Errorf("KernelStructHasField(task_struct, pid) = %v, %v; want true", has, err)
	}
	has, err = headers.KernelStructHasField("task_struct", "no_such_member")
	if err != nil || has {
		t.Errorf("KernelStructHasField(task_struct, no_such_member) = %v, %v; want false", has, err)
	}
}

func TestResolveMissingDirectory(t *testing.T) {
	_, err := headers.Resolve(t.TempDir() + "/none")
	if !errors.Is(err, headers.ErrNoKernelHeaders) {
		t.Fatalf("Resolve(missing dir) = %v, want ErrNoKernelHeaders", err)
	}
}

func TestGenerateAutoIncludes(t *testing.T) {
	if got := headers.GenerateAutoIncludes([]string{"struct", "bio", "*b"}); got != "#include <linux/blkdev.h>\n" {
		t.Errorf("GenerateAutoIncludes = %q", got)
	}
}

func ExampleKernelStructHasField() {
	has, err := headers.KernelStructHasField("task_struct", "pid")
	fmt.Println(has, err)
	// Output: true <nil>
}
