package exporter

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/bcc/syscalls"
)

// errDrop tells the collector to leave a series out: a regexp decoder did
// not match. It is not a decoder error.
var errDrop = errors.New("dropped by decoder")

// ErrDecode is wrapped by errors of decoders at scrape time (an address
// with no symbol is not one: it decodes as "[unknown]").
var ErrDecode = errors.New("label decoder failed")

// decoderInput is what a decoder reads: the field's value for the first
// decoder of a label, the previous decoder's text after it.
type decoderInput struct {
	v    value // valid for the first decoder only
	s    string
	root value // the whole key or event, for pid_field
}

// decodeFunc turns its input into label text.
type decodeFunc func(in decoderInput) (string, error)

// integer reads the input as an integer: the field's bits, or the previous
// decoder's decimal or hex text.
func (in decoderInput) integer() (uint64, error) {
	if in.v.IsValid() {
		if kindOf(in.v.Type()) == kindInt {
			return uint64(in.v.Int64()), nil
		}
		return in.v.Uint64(), nil
	}
	if u, err := strconv.ParseUint(in.s, 0, 64); err == nil {
		return u, nil
	}
	i, err := strconv.ParseInt(in.s, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is not an integer", ErrDecode, in.s)
	}
	return uint64(i), nil
}

// signed reads the input as a signed integer.
func (in decoderInput) signed() (int64, error) {
	u, err := in.integer()
	if err != nil {
		return 0, err
	}
	if in.v.IsValid() && in.v.Type().Size < 8 && kindOf(in.v.Type()) == kindInt {
		return in.v.Int64(), nil
	}
	return int64(u), nil
}

// text is the input as text: the previous decoder's output or the field
// formatted by default.
func (in decoderInput) text() string {
	if in.v.IsValid() {
		return defaultText(in.v)
	}
	return in.s
}

// defaultText formats a field without decoders: integers in decimal,
// char arrays as their string, anything else as bcc formats it.
func defaultText(v value) string {
	switch kindOf(v.Type()) {
	case kindInt:
		return strconv.FormatInt(v.Int64(), 10)
	case kindUint, kindBool:
		return strconv.FormatUint(v.Uint64(), 10)
	case kindChar, kindCharArray:
		return v.Str()
	}
	return v.String()
}

// decoderEnv is what decoders need from the program.
type decoderEnv struct {
	syms   *symbolSource
	tables map[string]*tableDesc
}

// needsInteger lists decoders whose first input must be an integer field.
var needsInteger = map[string]bool{
	DecoderKsym: true, DecoderKstack: true, DecoderUsym: true, DecoderUstack: true,
	DecoderErrno: true, DecoderSyscall: true, DecoderUint: true, DecoderHex: true,
	DecoderCgroup: true, DecoderIfname: true, DecoderMajorMinor: true,
}

// checkFirstDecoder says whether decoder d can read a field of type t.
func checkFirstDecoder(d *Decoder, t *ctype) error {
	switch {
	case needsInteger[d.Name]:
		if !isInteger(t) {
			return fmt.Errorf("the %s decoder needs an integer field, this one is %s", d.Name, t)
		}
	case d.Name == DecoderString:
		if k := kindOf(t); k != kindCharArray && k != kindChar {
			return fmt.Errorf("the string decoder needs a char array, this field is %s", t)
		}
	case d.Name == DecoderInetIP:
		if t.Size != 4 && t.Size != 16 {
			return fmt.Errorf("the inet_ip decoder needs 4 bytes (IPv4, as in struct in_addr or a __be32) or 16 (IPv6), this field is %s of %d bytes", t, t.Size)
		}
	}
	return nil
}

// newDecoder compiles a checked decoder.
func newDecoder(d *Decoder, env *decoderEnv, pidPath []int) (decodeFunc, error) {
	switch d.Name {
	case DecoderUint:
		return func(in decoderInput) (string, error) {
			if in.v.IsValid() {
				return defaultText(in.v), nil
			}
			u, err := in.integer()
			return strconv.FormatUint(u, 10), err
		}, nil
	case DecoderHex:
		return func(in decoderInput) (string, error) {
			u, err := in.integer()
			return "0x" + strconv.FormatUint(u, 16), err
		}, nil
	case DecoderString:
		return func(in decoderInput) (string, error) { return in.text(), nil }, nil
	case DecoderKsym:
		// No cache of its own: table metrics remember each key's series
		// between scrapes, so a key is resolved once while it stays.
		return func(in decoderInput) (string, error) {
			addr, err := in.integer()
			if err != nil {
				return "", err
			}
			return env.syms.ksym(addr), nil
		}, nil
	case DecoderUsym:
		return func(in decoderInput) (string, error) {
			addr, err := in.integer()
			if err != nil {
				return "", err
			}
			return env.syms.usym(addr, int(pathValue(in.root, pidPath).Int64())), nil
		}, nil
	case DecoderKstack, DecoderUstack:
		stacks := env.tables[d.StackTable].table
		kernel := d.Name == DecoderKstack
		return func(in decoderInput) (string, error) {
			id, err := in.signed()
			if err != nil {
				return "", err
			}
			if id < 0 {
				// BCC's get_stackid failed in the program (-EFAULT: no
				// user stack, -EEXIST: hash collision...).
				return "[stack error " + unix.ErrnoName(syscall.Errno(-id)) + "]", nil
			}
			addrs, err := walkStack(stacks, id)
			if err != nil {
				return "", fmt.Errorf("%w: stack %d: %w", ErrDecode, id, err)
			}
			names := make([]string, len(addrs))
			pid := -1
			if !kernel {
				pid = int(pathValue(in.root, pidPath).Int64())
			}
			for i, a := range addrs {
				if kernel {
					names[i] = env.syms.ksym(a)
				} else {
					names[i] = env.syms.usym(a, pid)
				}
			}
			// Outermost first, ";"-separated: the folded form flame
			// graph tools read.
			for i, j := 0, len(names)-1; i < j; i, j = i+1, j-1 {
				names[i], names[j] = names[j], names[i]
			}
			return strings.Join(names, ";"), nil
		}, nil
	case DecoderInetIP:
		return func(in decoderInput) (string, error) {
			var b []byte
			if in.v.IsValid() {
				b = in.v.Bytes()
			} else {
				return in.s, nil
			}
			if a, ok := netip.AddrFromSlice(b); ok {
				return a.String(), nil
			}
			return "", fmt.Errorf("%w: inet_ip of %d bytes", ErrDecode, len(b))
		}, nil
	case DecoderStaticMap:
		m, allow := d.StaticMap, d.AllowUnknown
		return func(in decoderInput) (string, error) {
			s := in.text()
			if out, ok := m[s]; ok {
				return out, nil
			}
			if allow {
				return s, nil
			}
			return "", fmt.Errorf("%w: static_map has no %q", ErrDecode, s)
		}, nil
	case DecoderRegexp:
		res := make([]*regexp.Regexp, len(d.Regexps))
		for i, r := range d.Regexps {
			res[i] = regexp.MustCompile(r) // checked by Config.check
		}
		return func(in decoderInput) (string, error) {
			s := in.text()
			for _, re := range res {
				if m := re.FindStringSubmatch(s); m != nil {
					if len(m) > 1 {
						return m[1], nil
					}
					return s, nil
				}
			}
			return "", errDrop
		}, nil
	case DecoderErrno:
		return func(in decoderInput) (string, error) {
			n, err := in.signed()
			if err != nil {
				return "", err
			}
			if n < 0 {
				n = -n
			}
			if n == 0 {
				return "0", nil
			}
			if name := unix.ErrnoName(syscall.Errno(n)); name != "" {
				return name, nil
			}
			return strconv.FormatInt(n, 10), nil
		}, nil
	case DecoderSyscall:
		return func(in decoderInput) (string, error) {
			n, err := in.integer()
			if err != nil {
				return "", err
			}
			if n <= math.MaxInt32 {
				if name, ok := syscalls.Lookup(int(n)); ok {
					return name, nil
				}
			}
			return "syscall_" + strconv.FormatUint(n, 10), nil
		}, nil
	case DecoderCgroup:
		cg := newCgroupNames(cgroup2Mount())
		return func(in decoderInput) (string, error) {
			id, err := in.integer()
			if err != nil {
				return "", err
			}
			return cg.name(id), nil
		}, nil
	case DecoderIfname:
		return func(in decoderInput) (string, error) {
			idx, err := in.integer()
			if err != nil {
				return "", err
			}
			ifi, err := net.InterfaceByIndex(int(idx))
			if err != nil {
				return "ifindex_" + strconv.FormatUint(idx, 10), nil
			}
			return ifi.Name, nil
		}, nil
	case DecoderMajorMinor:
		return func(in decoderInput) (string, error) {
			dev, err := in.integer()
			if err != nil {
				return "", err
			}
			// The kernel's dev_t (MINORBITS 20), as block tracepoints
			// and bio structs carry it.
			return fmt.Sprintf("%d:%d", dev>>20, dev&(1<<20-1)), nil
		}, nil
	}
	return nil, fmt.Errorf("unknown decoder %q", d.Name)
}

// pathValue follows struct member indexes from v.
func pathValue(v value, path []int) value {
	for _, i := range path {
		v = v.FieldAt(i)
	}
	return v
}

// cgroup2Mount is where the cgroup v2 hierarchy is mounted (ids from
// bpf_get_current_cgroup_id are its directories' inodes): /sys/fs/cgroup
// on a unified system, /sys/fs/cgroup/unified on a hybrid one.
func cgroup2Mount() string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err == nil {
		for line := range strings.SplitSeq(string(data), "\n") {
			// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS... - FSTYPE SOURCE ...
			pre, post, ok := strings.Cut(line, " - ")
			if fields := strings.Fields(pre); ok && len(fields) >= 5 && strings.HasPrefix(post, "cgroup2 ") {
				return fields[4]
			}
		}
	}
	return "/sys/fs/cgroup"
}

// cgroupNames maps cgroup v2 ids (the cgroup directory's inode number, as
// bpf_get_current_cgroup_id returns) to paths below the cgroup mount.
// An unknown id rescans the hierarchy, at most once a second.
type cgroupNames struct {
	root     string
	mu       sync.Mutex
	byID     map[uint64]string
	scanned  time.Time
	interval time.Duration
}

func newCgroupNames(root string) *cgroupNames {
	return &cgroupNames{root: root, byID: map[uint64]string{}, interval: time.Second}
}

func (c *cgroupNames) name(id uint64) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.byID[id]; ok {
		return p
	}
	if time.Since(c.scanned) >= c.interval {
		c.scan()
		if p, ok := c.byID[id]; ok {
			return p
		}
	}
	return "cgroup_" + strconv.FormatUint(id, 10)
}

func (c *cgroupNames) scan() {
	c.scanned = time.Now()
	byID := map[uint64]string{}
	_ = filepath.WalkDir(c.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		info, err := os.Stat(path)
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			rel := strings.TrimPrefix(path, c.root)
			if rel == "" {
				rel = "/"
			}
			byID[st.Ino] = rel
		}
		return nil
	})
	c.byID = byID
}
