package debugflags_test

import (
	"fmt"

	"github.com/gobcc/gobcc/debugflags"
)

func ExampleParse() {
	f, err := debugflags.Parse("DEBUG_BPF|source")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s = %#x, verifier log level %d\n", f, uint32(f), f.VerifierLogLevel())

	_, err = debugflags.Parse("bfp")
	fmt.Println(err)
	// Output:
	// bpf|source = 0xa, verifier log level 1
	// debugflags: unknown debug flag: "bfp" (valid names: llvm_ir, bpf, preprocessor, source, bpf_register_state, btf, all, none, or a number)
}

func ExampleFlags_String() {
	fmt.Println(debugflags.BPF | debugflags.BPFRegisterState)
	fmt.Println(debugflags.None)
	fmt.Println(debugflags.Source | 0x80)
	// Output:
	// bpf|bpf_register_state
	// none
	// source|0x80
}
