// Package kheaders gives libbcc kernel headers that match the running
// kernel: it generates a header tree from the kernel's BTF
// (/sys/kernel/btf/vmlinux and the BTF of loaded modules), caches it on
// disk, and decides, by policy, whether a compile uses that tree, the
// installed headers, or a given directory.
//
// libbcc takes its kernel tree from the environment variable
// BCC_KERNEL_SOURCE; Tree.Env says what to set.
package kheaders

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Policies for Resolve. Anything else is a directory to use as is.
const (
	// PolicyAuto uses the installed headers when they are the running
	// kernel's (same release, and the layout check passes), else the tree
	// generated from BTF.
	PolicyAuto = "auto"
	// PolicyBTF always uses the tree generated from BTF.
	PolicyBTF = "btf"
	// PolicyInstalled uses /lib/modules/$(uname -r)/build as libbcc does by
	// itself, whatever kernel it belongs to.
	PolicyInstalled = "installed"
)

// Kind says where a Tree comes from.
type Kind string

// Kinds of trees.
const (
	KindInstalled Kind = "installed"
	KindBTF       Kind = "btf"
	KindPath      Kind = "path"
)

// Tree is the kernel header tree a compile uses.
type Tree struct {
	// Dir is the tree. For KindInstalled it is the resolved
	// /lib/modules/$(uname -r)/build (empty when there is none).
	Dir  string
	Kind Kind
	// Reason says why this tree was chosen, for people.
	Reason string
	// Release is the kernel release the tree is for, when known.
	Release string
	// Generated is true when this Resolve wrote the tree (the cache had
	// none).
	Generated bool
	// Warnings are things the caller should pass on: a bad cache entry
	// replaced, installed headers of another kernel used.
	Warnings []string
}

// Env returns the environment entry that makes libbcc use the tree
// (BCC_KERNEL_SOURCE=dir), or "" for the installed headers, which libbcc
// finds by itself.
func (t Tree) Env() string {
	if t.Kind == KindInstalled || t.Dir == "" {
		return ""
	}
	return "BCC_KERNEL_SOURCE=" + t.Dir
}

// Errors.
var (
	// ErrNoBTF means the kernel has no BTF to generate headers from.
	ErrNoBTF = errNoBTF
	// ErrNoHeaders means the policy asked for installed headers and
	// there are none.
	ErrNoHeaders = errors.New("no installed kernel headers")
	// ErrLayoutMismatch is wrapped by a layout check that found offsets
	// differing from the BTF.
	ErrLayoutMismatch = errors.New("struct layout differs from the kernel's BTF")
)

// formatVersion changes whenever the generated tree changes for the same
// input, so that caches of older gobcc versions are not used.
const formatVersion = "gobcc-kheaders-13"

// Config says where Resolve reads from and writes to. The zero value reads
// the running kernel and uses the default cache.
type Config struct {
	// BTFDir holds vmlinux and module BTF (default /sys/kernel/btf).
	BTFDir string
	// CacheDir is the base cache directory (default $GOBCC_CACHE_DIR, else
	// /var/cache/gobcc for root and the user's cache directory,
	// ~/.cache/gobcc, for others); trees go to CacheDir/headers/<hash>.
	CacheDir string
	// Release is the kernel release (default uname -r).
	Release string
	// ModulesDir is where installed headers are looked for (default
	// /lib/modules).
	ModulesDir string
	// UAPIDirs are the uapi header directories whose macros a generated
	// tree takes (default: /usr/include/linux, /usr/include/asm-generic and
	// the architecture's asm directory).
	UAPIDirs []string
	// LayoutCheck, when set, verifies that installed headers of the
	// running release lay out kernel structs as the BTF does (it compiles:
	// see compiler.ResolveHeaders). Auto skips headers for which it fails.
	LayoutCheck func(dir string) error
}

func (c Config) withDefaults() Config {
	if c.BTFDir == "" {
		c.BTFDir = "/sys/kernel/btf"
	}
	if c.CacheDir == "" {
		c.CacheDir = os.Getenv("GOBCC_CACHE_DIR")
	}
	if c.CacheDir == "" && os.Geteuid() != 0 {
		// Without root (CAP_BPF and CAP_PERFMON), the root-owned system
		// cache is not ours to write or trust.
		if dir, err := os.UserCacheDir(); err == nil {
			c.CacheDir = filepath.Join(dir, "gobcc")
		}
	}
	if c.CacheDir == "" {
		c.CacheDir = "/var/cache/gobcc"
	}
	if c.Release == "" {
		var uts unix.Utsname
		if unix.Uname(&uts) == nil {
			c.Release = unix.ByteSliceToString(uts.Release[:])
		}
	}
	if c.ModulesDir == "" {
		c.ModulesDir = "/lib/modules"
	}
	if c.UAPIDirs == nil {
		c.UAPIDirs = []string{"/usr/include/linux", "/usr/include/asm-generic"}
		if m, _ := filepath.Glob("/usr/include/*-linux-gnu*/asm"); len(m) > 0 {
			c.UAPIDirs = append(c.UAPIDirs, m[0])
		} else {
			c.UAPIDirs = append(c.UAPIDirs, "/usr/include/asm")
		}
	}
	return c
}

// Resolve picks the header tree for a policy with the default Config.
func Resolve(policy string) (Tree, error) { return Config{}.Resolve(policy) }

// Resolve picks the header tree for a policy: "auto" (or ""), "btf",
// "installed", or a directory.
func (c Config) Resolve(policy string) (Tree, error) {
	c = c.withDefaults()
	switch policy {
	case PolicyBTF:
		return c.Generate()
	case PolicyInstalled:
		t, err := c.installed()
		if err != nil {
			return Tree{Kind: KindInstalled}, err
		}
		t.Reason = "requested (--headers installed)"
		if t.Release != "" && t.Release != c.Release {
			t.Reason += fmt.Sprintf("; these are headers of %s, not of the running kernel %s", t.Release, c.Release)
		}
		return t, nil
	case PolicyAuto, "":
		return c.auto()
	}
	dir, err := filepath.Abs(policy)
	if err != nil {
		return Tree{}, err
	}
	if fi, err := os.Stat(filepath.Join(dir, "include")); err != nil || !fi.IsDir() {
		return Tree{Kind: KindPath, Dir: dir}, fmt.Errorf("%s is not a kernel header tree (no include/ directory): %w", dir, ErrNoHeaders)
	}
	return Tree{Kind: KindPath, Dir: dir, Release: treeRelease(dir), Reason: "requested (--headers " + policy + ")"}, nil
}

func (c Config) auto() (Tree, error) {
	inst, err := c.installed()
	reason := ""
	switch {
	case err != nil:
		reason = fmt.Sprintf("no installed headers for %s", c.Release)
	case inst.Release != c.Release:
		reason = fmt.Sprintf("installed headers at %s are %s, not the running kernel %s", inst.Dir, orUnknown(inst.Release), c.Release)
	case c.LayoutCheck != nil:
		if lerr := c.LayoutCheck(inst.Dir); lerr != nil {
			reason = fmt.Sprintf("installed headers at %s failed the layout check: %v", inst.Dir, lerr)
			break
		}
		inst.Reason = fmt.Sprintf("installed headers at %s are the running kernel's (%s) and lay out structs as its BTF does", inst.Dir, c.Release)
		return inst, nil
	default:
		inst.Reason = fmt.Sprintf("installed headers at %s are the running kernel's (%s)", inst.Dir, c.Release)
		return inst, nil
	}
	t, gerr := c.Generate()
	if gerr != nil {
		if err == nil {
			// Headers of another kernel are better than none.
			inst.Reason = reason + "; no BTF tree: " + gerr.Error()
			inst.Warnings = append(inst.Warnings, "using kernel headers that are not the running kernel's: "+inst.Reason)
			return inst, nil
		}
		return t, gerr
	}
	t.Reason = reason + ": using the tree generated from the kernel's BTF"
	return t, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "of an unknown release"
	}
	return s
}

// installed finds /lib/modules/<release>/build.
func (c Config) installed() (Tree, error) {
	build := filepath.Join(c.ModulesDir, c.Release, "build")
	dir, err := filepath.EvalSymlinks(build)
	if err == nil {
		if fi, serr := os.Stat(filepath.Join(dir, "include")); serr != nil || !fi.IsDir() {
			err = fmt.Errorf("%s has no include/ directory", dir)
		}
	}
	if err != nil {
		return Tree{Kind: KindInstalled}, fmt.Errorf("%w at %s: %v", ErrNoHeaders, build, err)
	}
	return Tree{Kind: KindInstalled, Dir: dir, Release: treeRelease(dir)}, nil
}

// treeRelease reads the kernel release a header tree was made for, from
// include/config/kernel.release or a Debian directory name
// (linux-headers-6.1.0-57-amd64).
func treeRelease(dir string) string {
	// Distribution trees are named for the release they serve
	// (linux-headers-6.1.0-57-amd64), which is what uname -r prints there;
	// their kernel.release holds the upstream version (6.1.192).
	base := filepath.Base(dir)
	if rest, ok := strings.CutPrefix(base, "linux-headers-"); ok {
		return strings.TrimSuffix(rest, "-common")
	}
	if data, err := os.ReadFile(filepath.Join(dir, "include/config/kernel.release")); err == nil {
		return strings.TrimSpace(string(data))
	}
	return ""
}

// genMu serialises generation within a process; across processes the
// atomic rename decides.
var genMu sync.Mutex

// Generate returns the tree generated from the kernel's BTF, from the
// cache when a valid one is there, else writing it.
func (c Config) Generate() (Tree, error) {
	c = c.withDefaults()
	base := filepath.Join(c.CacheDir, "headers")
	// Fast path: the key of the tree made for the same inputs (judged by
	// their stamps) in this boot, without reading and hashing megabytes of
	// BTF in every process: a compile-cache hit needs only the tree's name.
	stamp := c.inputStamp()
	if key, ok := readQuickKey(base, stamp); ok {
		dir := filepath.Join(base, key)
		if checkCached(dir, key) == nil {
			return Tree{Kind: KindBTF, Dir: dir, Release: c.Release, Reason: "requested (--headers btf)"}, nil
		}
	}
	in, err := c.input()
	if err != nil {
		return Tree{Kind: KindBTF}, err
	}
	key := in.key()
	dir := filepath.Join(base, key)
	t := Tree{Kind: KindBTF, Dir: dir, Release: c.Release, Reason: "requested (--headers btf)"}
	genMu.Lock()
	defer genMu.Unlock()
	defer writeQuickKey(base, stamp, key)
	switch err := checkCached(dir, key); {
	case err == nil:
		return t, nil
	case !errors.Is(err, os.ErrNotExist):
		t.Warnings = append(t.Warnings, fmt.Sprintf("regenerating the kernel header cache %s: %v", dir, err))
		if err := os.RemoveAll(dir); err != nil {
			return t, fmt.Errorf("remove bad header cache: %w", err)
		}
	}
	if err := makePrivateDir(c.CacheDir); err != nil {
		return t, err
	}
	if err := makePrivateDir(base); err != nil {
		return t, err
	}
	tmp, err := os.MkdirTemp(base, ".tmp-")
	if err != nil {
		return t, fmt.Errorf("header cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	tree := filepath.Join(tmp, "tree")
	if _, err := Write(tree, in); err != nil {
		return t, fmt.Errorf("generate kernel headers from BTF: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tree, stampFile), []byte(formatVersion+"\n"+key+"\n"), 0o600); err != nil {
		return t, err
	}
	if err := os.Chmod(tree, 0o700); err != nil {
		return t, err
	}
	if err := os.Rename(tree, dir); err != nil {
		// Another process may have written the same tree meanwhile.
		if cerr := checkCached(dir, key); cerr == nil {
			return t, nil
		}
		return t, fmt.Errorf("header cache: %w", err)
	}
	t.Generated = true
	pruneStale(base, key)
	return t, nil
}

// pruneStale removes, a day after they were written, the cache entries of
// other gobcc formats (a binary of another version on the same machine
// may still use them meanwhile) and leftovers of interrupted generations.
// Trees of this format for other BTF (another kernel, other modules) stay.
func pruneStale(base, keep string) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		p := filepath.Join(base, e.Name())
		if e.Name() == keep || !e.IsDir() {
			continue
		}
		fi, err := e.Info()
		if err != nil || time.Since(fi.ModTime()) < 24*time.Hour {
			continue
		}
		stamp, err := os.ReadFile(filepath.Join(p, stampFile))
		if err == nil && strings.HasPrefix(string(stamp), formatVersion+"\n") {
			continue
		}
		os.RemoveAll(p)
	}
}

// makePrivateDir creates dir (mode 0700) if needed and checks that it
// belongs to this user and nobody else may write to it.
func makePrivateDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("header cache: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("header cache: %w", err)
	}
	if err := checkOwner(fi); err != nil {
		return fmt.Errorf("header cache %s: %w", dir, err)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("header cache %s: writable by others (mode %v)", dir, fi.Mode().Perm())
	}
	return nil
}

func checkOwner(fi os.FileInfo) error {
	if !fi.IsDir() {
		return fmt.Errorf("not a directory")
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("no owner information")
	}
	if int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("owned by uid %d, not %d", st.Uid, os.Geteuid())
	}
	return nil
}

// checkCached verifies a cached tree: a directory of this user, mode 0700,
// with the stamp of this format and key. It wraps os.ErrNotExist when
// there is none.
func checkCached(dir, key string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if err := checkOwner(fi); err != nil {
		return err
	}
	if fi.Mode().Perm() != 0o700 {
		return fmt.Errorf("mode %v, want 0700", fi.Mode().Perm())
	}
	stamp, err := os.ReadFile(filepath.Join(dir, stampFile))
	if err != nil {
		return fmt.Errorf("incomplete (no stamp): %v", err)
	}
	if string(stamp) != formatVersion+"\n"+key+"\n" {
		return fmt.Errorf("stamp %q does not match", strings.TrimSpace(string(stamp)))
	}
	return nil
}

// inputStamp names the inputs of a tree cheaply: the boot (BTF cannot
// change without a reboot or a module load), the size of every BTF file,
// the configuration file's size and time, the uapi directories and this
// gobcc's embedded data (its generated CRC, not the SHA-256 of the full
// key).
func (c Config) inputStamp() string {
	h := sha256.New()
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	// The embedded data's checksum is a generated constant: computing it here
	// would page in its 1.6 MB on every New (RSS 7.7 -> 9.8 MB).
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d\x00%08x\x00", formatVersion, c.Release, boot, len(data), uint32(dataChecksum))
	if entries, err := os.ReadDir(c.BTFDir); err == nil {
		for _, e := range entries {
			if fi, err := e.Info(); err == nil {
				fmt.Fprintf(h, "%s %d\x00", e.Name(), fi.Size())
			}
		}
	}
	for _, p := range append([]string{"/proc/config.gz", "/boot/config-" + c.Release}, c.UAPIDirs...) {
		if fi, err := os.Stat(p); err == nil {
			fmt.Fprintf(h, "%s %d %d\x00", p, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// readQuickKey returns the tree key recorded for stamp, if the record is
// trustworthy (our own, private, a well-formed key).
func readQuickKey(base, stamp string) (string, bool) {
	p := filepath.Join(base, ".quick-"+stamp)
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return "", false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o077 != 0 {
		return "", false
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Geteuid() {
		return "", false
	}
	b := make([]byte, 2*sha256.Size+1)
	n, _ := io.ReadFull(f, b)
	key := strings.TrimSpace(string(b[:n]))
	if len(key) != 2*sha256.Size || strings.Trim(key, "0123456789abcdef") != "" {
		return "", false
	}
	return key, true
}

// writeQuickKey records key for stamp (best effort: without the record the
// next process takes the slow path).
func writeQuickKey(base, stamp, key string) {
	if _, ok := readQuickKey(base, stamp); ok {
		return
	}
	tmp, err := os.CreateTemp(base, ".tmp-quick-")
	if err != nil {
		return
	}
	_, werr := tmp.WriteString(key + "\n")
	if cerr := tmp.Close(); werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return
	}
	if err := os.Rename(tmp.Name(), filepath.Join(base, ".quick-"+stamp)); err != nil {
		os.Remove(tmp.Name())
	}
}

// input reads the running kernel's BTF, modules' BTF and configuration.
func (c Config) input() (Input, error) {
	vm, err := os.ReadFile(filepath.Join(c.BTFDir, "vmlinux"))
	if err != nil {
		return Input{}, fmt.Errorf("%w: %v", ErrNoBTF, err)
	}
	in := Input{Vmlinux: vm, Release: c.Release, UAPIDirs: c.UAPIDirs, Modules: map[string][]byte{}}
	entries, err := os.ReadDir(c.BTFDir)
	if err != nil {
		return Input{}, fmt.Errorf("%w: %v", ErrNoBTF, err)
	}
	for _, e := range entries {
		if e.Name() == "vmlinux" || e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(c.BTFDir, e.Name()))
		if err != nil {
			// A module unloaded meanwhile.
			continue
		}
		in.Modules[e.Name()] = data
	}
	in.Config, _ = readConfig(c.Release)
	if in.Config == nil {
		// Without /proc/config.gz or /boot/config-RELEASE, what a kernel
		// with BTF and working BPF certainly has: libbcc's helpers.h refuses
		// to compile without CONFIG_BPF_SYSCALL.
		in.Config = []byte(minimalConfig)
	}
	return in, nil
}

// minimalConfig stands in for a kernel configuration that cannot be read.
const minimalConfig = "CONFIG_BPF=y\nCONFIG_BPF_SYSCALL=y\nCONFIG_BPF_EVENTS=y\nCONFIG_DEBUG_INFO_BTF=y\nCONFIG_PERF_EVENTS=y\nCONFIG_TRACEPOINTS=y\n"

// key hashes everything the tree depends on.
func (in Input) key() string {
	h := sha256.New()
	io.WriteString(h, formatVersion+"\x00"+in.Release+"\x00"+prelude+"\x00"+strings.Join(lightHeaders, "\x00")+"\x00")
	dh := dataHash()
	h.Write(dh[:])
	writeBlob := func(name string, b []byte) {
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(b))
		h.Write(b)
	}
	writeBlob("vmlinux", in.Vmlinux)
	names := make([]string, 0, len(in.Modules))
	for n := range in.Modules {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		writeBlob("module:"+n, in.Modules[n])
	}
	for _, f := range inlineFuncs {
		io.WriteString(h, f.code)
	}
	writeBlob("config", in.Config)
	writeBlob("uapi", []byte(strings.Join(in.UAPIDirs, "\x00")))
	return hex.EncodeToString(h.Sum(nil))
}

// dataHash is computed on first use, not at every program's start.
var dataHash = sync.OnceValue(func() [sha256.Size]byte { return sha256.Sum256(data) })
