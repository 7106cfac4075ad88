package syscalls

import (
	"fmt"
	"runtime"
	"testing"
)

func TestNames(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the table is x86-64's")
	}
	for nr, want := range map[int]string{0: "read", 1: "write", 59: "execve", 231: "exit_group", 435: "clone3"} {
		if got := Name(nr); got != want {
			t.Errorf("Name(%d) = %q, want %q", nr, got, want)
		}
		if got, ok := Number(want); !ok || got != nr {
			t.Errorf("Number(%q) = %d, %v", want, got, ok)
		}
	}
	if got := Name(100000); got != "[unknown: 100000]" {
		t.Errorf("unknown: %q", got)
	}
	if len(All()) < 350 {
		t.Errorf("only %d syscalls", len(All()))
	}
}

func ExampleName() {
	fmt.Println(Name(0), Name(59))
	// Output: read execve
}
