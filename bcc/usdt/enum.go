package usdt

import (
	"fmt"

	"github.com/gobcc/gobcc/internal/libbcc"
)

// This file is BCC Python's USDT introspection: enumerate_probes,
// enumerate_active_probes, get_text, get_probe_arg_ctype and the probe,
// location and argument objects. They go through libbcc's USDT API
// (bcc_usdt_*), loaded into the calling process, rather than a parser of
// .note.stapsdt in Go: get_text must be exactly the C text the compile
// helper prepends (libbcc's bcc_usdt_genargs, with its per-architecture
// operand parser), and probe arguments must mean what they mean to that
// code. The cost is libbcc (and LLVM) mapped into the caller once one of
// these is called; bcc.New itself never needs them.

// ArgFlags says which fields of a Argument are set
// (BCC_USDT_ARGUMENT_*).
type ArgFlags int

// The argument flags.
const (
	ArgConstant          ArgFlags = libbcc.USDTArgConstant
	ArgDerefOffset       ArgFlags = libbcc.USDTArgDerefOffset
	ArgDerefIdent        ArgFlags = libbcc.USDTArgDerefIdent
	ArgBaseRegisterName  ArgFlags = libbcc.USDTArgBaseRegisterName
	ArgIndexRegisterName ArgFlags = libbcc.USDTArgIndexRegisterName
	ArgScale             ArgFlags = libbcc.USDTArgScale
)

// Probe is one probe of a binary or process (BCC's Probe), with
// every location and each location's arguments.
type Probe struct {
	Provider, Name string
	// BinPath is the binary (or shared library) the probe is in.
	BinPath string
	// Semaphore is the semaphore's address in the binary's layout, 0 when
	// the probe has none; SemaphoreOffset is its file offset.
	Semaphore, SemaphoreOffset uint64
	NumArguments               int
	Locations                  []Location
}

// String is BCC's str(probe): "provider:name [sema 0x...]".
func (p Probe) String() string {
	return fmt.Sprintf("%s:%s [sema 0x%x]", p.Provider, p.Name, p.Semaphore)
}

// ShortName is "provider:name" (BCC's short_name()).
func (p Probe) ShortName() string { return p.Provider + ":" + p.Name }

// Location is one place a probe fires (BCC's ProbeLocation).
type Location struct {
	// Index is the location's number within its probe.
	Index int
	// Address is the location in the binary's layout.
	Address   uint64
	BinPath   string
	Arguments []Argument
}

// String is BCC's str(location): "binary 0x...".
func (l Location) String() string { return fmt.Sprintf("%s 0x%x", l.BinPath, l.Address) }

// Argument is where one probe argument lives at one location, as
// libbcc parsed the assembler operand the compiler recorded (BCC's
// ProbeArgument). Valid says which of the other fields are set.
type Argument struct {
	Signed bool
	// Size is the argument's size in bytes.
	Size          int
	Valid         ArgFlags
	Constant      int64
	DerefOffset   int
	DerefIdent    string
	BaseRegister  string
	IndexRegister string
	Scale         int
}

// String is BCC's str(argument), as tplist -v prints it: "8 signed  bytes
// @ *(rbp - 16)", "4 unsigned bytes @ 42", ...
func (a Argument) String() string {
	sign := "unsigned"
	if a.Signed {
		sign = "signed  "
	}
	return fmt.Sprintf("%d %s bytes @ %s", a.Size, sign, a.format())
}

// format mirrors BCC's ProbeArgument._format (itself a mirror of
// libbcc's usdt_args.cc).
func (a Argument) format() string {
	has := func(f ArgFlags) bool { return a.Valid&f != 0 }
	signOf := func(n int) (string, int) {
		if n >= 0 {
			return "+", n
		}
		return "-", -n
	}
	switch {
	case has(ArgConstant):
		return fmt.Sprintf("%d", a.Constant)
	case !has(ArgDerefOffset):
		return a.BaseRegister
	case !has(ArgDerefIdent):
		index := ""
		if has(ArgIndexRegisterName) {
			index = " + " + a.IndexRegister
			if has(ArgScale) {
				index += fmt.Sprintf(" * %d", a.Scale)
			}
		}
		s, n := signOf(a.DerefOffset)
		return fmt.Sprintf("*(%s %s %d%s)", a.BaseRegister, s, n, index)
	case has(ArgBaseRegisterName) && a.BaseRegister == "ip":
		s, n := signOf(a.DerefOffset)
		return fmt.Sprintf("*(&%s %s %d)", a.DerefIdent, s, n)
	}
	return fmt.Sprintf("unrecognized argument format, flags %d", a.Valid)
}

// ActiveProbe is one uprobe an enabled probe needs (an element of
// BCC's enumerate_active_probes()): bcc.New attaches FnName at Addr in
// BinPath for process PID (-1: every process).
type ActiveProbe struct {
	BinPath, FnName string
	Addr            uint64
	PID             int
}

// openContext opens libbcc's USDT context for u. The caller closes it.
func (u *Context) openContext() (*libbcc.USDTContext, error) {
	path, err := u.binary()
	if err != nil {
		return nil, err
	}
	lib, err := libbcc.Open()
	if err != nil {
		return nil, err
	}
	var c *libbcc.USDTContext
	if u.pid > 0 {
		c, err = lib.NewUSDTFromPID(u.pid, path)
	} else {
		c, err = lib.NewUSDTFromPath(path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUSDT, err)
	}
	return c, nil
}

// enableAll enables the probes EnableProbe recorded in c.
func (u *Context) enableAll(c *libbcc.USDTContext) error {
	for _, p := range u.probes {
		if err := c.EnableProbe(p.Provider, p.Name, p.FnName); err != nil {
			return fmt.Errorf("%w: %w", ErrUSDT, err)
		}
	}
	return nil
}

// Probes lists every probe of the context's binary or process with its
// locations and arguments (BCC's enumerate_probes, plus get_location and
// get_argument for each). Probes in a process's shared libraries are
// included for a process context.
func (u *Context) Probes() ([]Probe, error) {
	c, err := u.openContext()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	raw, err := c.Probes()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUSDT, err)
	}
	nargs, err := c.ArgumentCounts()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUSDT, err)
	}
	if len(nargs) != len(raw) {
		return nil, fmt.Errorf("%w: libbcc listed %d probes, then %d", ErrUSDT, len(raw), len(nargs))
	}
	out := make([]Probe, 0, len(raw))
	for i, r := range raw {
		p := Probe{
			Provider: r.Provider, Name: r.Name, BinPath: r.BinPath,
			Semaphore: r.Semaphore, SemaphoreOffset: r.SemaphoreOffset, NumArguments: nargs[i],
		}
		for li := 0; li < r.NumLocations; li++ {
			loc, err := c.Location(r.Provider, r.Name, li)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrUSDT, err)
			}
			l := Location{Index: li, Address: loc.Address, BinPath: loc.BinPath}
			for ai := 0; ai < p.NumArguments; ai++ {
				a, err := c.Argument(r.Provider, r.Name, li, ai)
				if err != nil {
					return nil, fmt.Errorf("%w: %w", ErrUSDT, err)
				}
				size := a.Size
				l.Arguments = append(l.Arguments, Argument{
					Signed: size < 0, Size: max(size, -size), Valid: ArgFlags(a.Valid),
					Constant: a.Constant, DerefOffset: a.DerefOffset, DerefIdent: a.DerefIdent,
					BaseRegister: a.BaseRegisterName, IndexRegister: a.IndexRegisterName, Scale: a.Scale,
				})
			}
			p.Locations = append(p.Locations, l)
		}
		out = append(out, p)
	}
	return out, nil
}

// ActiveProbes lists the uprobes the probes enabled with EnableProbe need
// (BCC's enumerate_active_probes): what bcc.New attaches.
func (u *Context) ActiveProbes() ([]ActiveProbe, error) {
	c, err := u.openContext()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := u.enableAll(c); err != nil {
		return nil, err
	}
	ups, err := c.Uprobes()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUSDT, err)
	}
	out := make([]ActiveProbe, len(ups))
	for i, p := range ups {
		out[i] = ActiveProbe{BinPath: p.BinPath, FnName: p.FnName, Addr: p.Addr, PID: p.PID}
	}
	return out, nil
}

// Text returns the C code that defines bpf_usdt_readarg for the probes
// enabled with EnableProbe (BCC's get_text): what bcc.New prepends to the
// program. Tools print it with their -v/--ebpf options.
func (u *Context) Text() (string, error) {
	c, err := u.openContext()
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := u.enableAll(c); err != nil {
		return "", err
	}
	lib, err := libbcc.Open()
	if err != nil {
		return "", err
	}
	text, err := lib.USDTGenArgs([]*libbcc.USDTContext{c})
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrUSDT, err)
	}
	return text, nil
}

// EnableProbeChecked is EnableProbe that checks now, not in bcc.New, that the
// binary or process has the probe: BCC's enable_probe_or_bail, which
// prints the message and exits; in Go the caller decides. The error wraps
// ErrUSDT and carries BCC's explanation.
func (u *Context) EnableProbeChecked(probe, fnName string) error {
	if err := u.EnableProbe(probe, fnName); err != nil {
		return err
	}
	last := u.probes[len(u.probes)-1]
	c, err := u.openContext()
	if err == nil {
		err = c.EnableProbe(last.Provider, last.Name, last.FnName)
		c.Close()
	}
	if err != nil {
		u.probes = u.probes[:len(u.probes)-1]
		return fmt.Errorf("%w: failed to enable USDT probe %q: the specified pid might not contain the given "+
			"language's runtime, or the runtime was not built with the required USDT probes (look for a configure "+
			"flag similar to --with-dtrace or --enable-dtrace; `gobcc list usdt:PATH_OR_PID:*` lists the probes present): %w",
			ErrUSDT, probe, err)
	}
	return nil
}

// ProbeArgCType returns the C type of argument index (0-based) of probe
// ("name" or "provider:name"), e.g. "int64_t" or "uint32_t" (BCC's
// get_probe_arg_ctype). Tools declare the variable bpf_usdt_readarg
// fills with it. An unknown probe or argument is an error wrapping
// ErrUSDT (BCC returns "").
func (u *Context) ProbeArgCType(probe string, index int) (string, error) {
	provider, name := splitProbe(probe)
	c, err := u.openContext()
	if err != nil {
		return "", err
	}
	defer c.Close()
	// libbcc does not check the index against the probe's arguments.
	if n, found, err := argumentCount(c, provider, name); err != nil {
		return "", err
	} else if !found {
		return "", fmt.Errorf("%w: no probe %q", ErrUSDT, probe)
	} else if index < 0 || index >= n {
		return "", fmt.Errorf("%w: probe %q has %d arguments, not %d", ErrUSDT, probe, n, index+1)
	}
	t, err := c.ArgCType(provider, name, index)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrUSDT, err)
	}
	if t == "" {
		return "", fmt.Errorf("%w: probe %q has no argument %d", ErrUSDT, probe, index)
	}
	return t, nil
}

// argumentCount returns how many arguments probe name (in provider, when
// not empty) has in c.
func argumentCount(c *libbcc.USDTContext, provider, name string) (n int, found bool, err error) {
	raw, err := c.Probes()
	if err != nil {
		return 0, false, fmt.Errorf("%w: %w", ErrUSDT, err)
	}
	nargs, err := c.ArgumentCounts()
	if err != nil {
		return 0, false, fmt.Errorf("%w: %w", ErrUSDT, err)
	}
	for i, p := range raw {
		if p.Name == name && (provider == "" || p.Provider == provider) && i < len(nargs) {
			return nargs[i], true, nil
		}
	}
	return 0, false, nil
}
