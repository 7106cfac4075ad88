package usym

import (
	"fmt"
	"path/filepath"
)

// FormatOptions are BCC's sym(show_module, show_offset, demangle).
type FormatOptions struct {
	ShowModule, ShowOffset, NoDemangle bool
}

// Format renders r as BCC Python's sym() does: "name", demangled unless
// NoDemangle, "name+0xoff" with ShowOffset, " [module basename]" with
// ShowModule, and "[unknown]" (never with an offset) when no symbol covers
// the address. libbcc reports no module for a process address outside
// every module with offset 0; noModuleAtZero asks for that rule.
func (r Result) Format(o FormatOptions, noModuleAtZero bool) string {
	s := r.Name
	switch {
	case s == "":
		s = "[unknown]"
	case !o.NoDemangle:
		s = r.Demangled()
	}
	if r.Name != "" && o.ShowOffset {
		s += fmt.Sprintf("+0x%x", r.Offset)
	}
	if o.ShowModule && r.Module != "" && !(noModuleAtZero && !r.Found() && r.Offset == 0) {
		s += " [" + filepath.Base(r.Module) + "]"
	}
	return s
}
