package cflags_test

import (
	"errors"
	"fmt"

	"github.com/gobcc/gobcc/cflags"
)

func ExampleDefine() {
	flags := []string{
		cflags.Define("MAX_ENTRIES", 10240),
		cflags.Define("COMM", `"bash"`),
		cflags.DefineFlag("FILTER_PID"),
		cflags.Undefine("DEBUG"),
		cflags.NoWarning("unused-value"),
	}
	fmt.Println(flags)
	fmt.Println(cflags.Validate(flags))
	// Output:
	// [-DMAX_ENTRIES=10240 -DCOMM="bash" -DFILTER_PID -UDEBUG -Wno-unused-value]
	// <nil>
}

func ExampleParse() {
	flags, err := cflags.Parse(`-D N=4 -DMSG='"hello world"' -I "/opt/my inc" -Wno-unused-value`)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range flags {
		fmt.Println(f)
	}
	fmt.Println(cflags.Join(flags))

	_, err = cflags.Parse("-O2 -o prog.o")
	fmt.Println(errors.Is(err, cflags.ErrUnsupportedFlag))

	_, err = cflags.Parse(`-DMSG="unterminated`)
	fmt.Println(err)
	// Output:
	// -DN=4
	// -DMSG="hello world"
	// -I/opt/my inc
	// -Wno-unused-value
	// -DN=4 '-DMSG="hello world"' '-I/opt/my inc' -Wno-unused-value
	// true
	// cflags: syntax error at offset 6: unterminated double quote
}

func ExampleValidate() {
	err := cflags.Validate([]string{"-DX=1", "prog.c"})
	fmt.Println(err)
	// Output:
	// cflags: not a single compiler flag: element 1 "prog.c": does not start with '-'; libbcc compiles only its own source, so this would be a second input file
}
