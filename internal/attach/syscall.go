package attach

import "strings"

// SyscallPrefixes are the prefixes kernels give system call functions, in
// the order BCC tries them (BPF._syscall_prefixes, with RISC-V added as in
// BCC after 0.26).
var SyscallPrefixes = []string{
	"sys_",
	"__x64_sys_",
	"__x32_compat_sys_",
	"__ia32_compat_sys_",
	"__arm64_sys_",
	"__s390x_sys_",
	"__s390_sys_",
	"__riscv_sys_",
}

// SyscallPrefix returns the first of prefixes that names a kernel function
// with "bpf" appended (exists looks it up), as BCC does, else the first
// prefix, "sys_".
func SyscallPrefix(prefixes []string, exists func(name string) bool) string {
	for _, p := range prefixes {
		if exists(p + "bpf") {
			return p
		}
	}
	return prefixes[0]
}

// FixSyscallFnName rewrites a function name carrying any of prefixes to
// the kernel's prefix (which prefix computes only when needed); other
// names are returned unchanged (BCC's fix_syscall_fnname).
func FixSyscallFnName(prefixes []string, name string, prefix func() string) string {
	for _, p := range prefixes {
		if rest, ok := strings.CutPrefix(name, p); ok {
			return prefix() + rest
		}
	}
	return name
}
