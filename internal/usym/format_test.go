package usym

import "testing"

func TestResultFormat(t *testing.T) {
	all := FormatOptions{ShowModule: true, ShowOffset: true}
	for _, tc := range []struct {
		r      Result
		o      FormatOptions
		atZero bool
		want   string
	}{
		{Result{Name: "main", Offset: 0x10, Module: "/usr/bin/prog"}, FormatOptions{}, true, "main"},
		{Result{Name: "main", Offset: 0x10, Module: "/usr/bin/prog"}, all, true, "main+0x10 [prog]"},
		{Result{Name: "_ZN3foo3barEv", Module: "/lib/libx.so"}, FormatOptions{ShowModule: true}, true, "foo::bar() [libx.so]"},
		{Result{Name: "_ZN3foo3barEv"}, FormatOptions{NoDemangle: true}, true, "_ZN3foo3barEv"},
		{Result{Offset: 0x1234, Module: "/usr/bin/prog"}, all, true, "[unknown] [prog]"},
		// libbcc names no module for an unresolved offset of 0 in a
		// process; a build-id frame keeps it.
		{Result{Module: "/usr/bin/prog"}, all, true, "[unknown]"},
		{Result{Module: "/usr/bin/prog"}, all, false, "[unknown] [prog]"},
	} {
		if got := tc.r.Format(tc.o, tc.atZero); got != tc.want {
			t.Errorf("%+v.Format(%+v, %v) = %q, want %q", tc.r, tc.o, tc.atZero, got, tc.want)
		}
	}
}
