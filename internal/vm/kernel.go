package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// DefaultCacheDir is where kernel packages are downloaded and unpacked
// unless the caller names another directory.
const DefaultCacheDir = "/var/cache/gobcc/vm"

// ErrNoKernelPackage means apt offers no package of the name asked for, or
// the package holds no kernel image.
var ErrNoKernelPackage = errors.New("no such kernel package")

// Kernel is a kernel package unpacked in the cache.
type Kernel struct {
	// Package is the package name, e.g. "linux-image-6.1.0-57-amd64".
	Package string
	// Release is the kernel release the guest's uname -r prints, e.g.
	// "6.1.0-57-amd64".
	Release string
	// Root is the directory the package was unpacked into.
	Root string
}

// Vmlinuz is the path of the kernel image.
func (k *Kernel) Vmlinuz() string { return filepath.Join(k.Root, "boot", "vmlinuz-"+k.Release) }

// ModulesDir is the package's /lib/modules/<release>.
func (k *Kernel) ModulesDir() string { return filepath.Join(k.Root, "lib", "modules", k.Release) }

// DefaultKernelPackage names the kernel package that Debian's
// linux-image-amd64 metapackage currently depends on: the newest
// linux-image-<version>-amd64 that apt offers for this release.
func DefaultKernelPackage(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "apt-cache", "depends", "linux-image-amd64").Output()
	if err != nil {
		return "", fmt.Errorf("ask apt-cache which kernel linux-image-amd64 depends on: %w", commandError(err))
	}
	if name := parseKernelDepends(out); name != "" {
		return name, nil
	}
	return "", fmt.Errorf("apt-cache depends linux-image-amd64 names no linux-image-*-amd64 package: %w", ErrNoKernelPackage)
}

var kernelPackageRe = regexp.MustCompile(`^linux-image-[0-9][^ ]*-amd64$`)

// parseKernelDepends picks the newest linux-image-*-amd64 out of
// `apt-cache depends` output ("  Depends: linux-image-6.1.0-57-amd64").
func parseKernelDepends(out []byte) string {
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		dep, ok := strings.CutPrefix(strings.TrimSpace(line), "Depends: ")
		if ok && kernelPackageRe.MatchString(dep) {
			names = append(names, dep)
		}
	}
	if len(names) == 0 {
		return ""
	}
	sort.Slice(names, func(i, j int) bool { return versionLess(names[i], names[j]) })
	return names[len(names)-1]
}

// versionLess compares strings with runs of digits compared as numbers, so
// that 6.1.0-9 sorts before 6.1.0-57.
func versionLess(a, b string) bool {
	for a != "" && b != "" {
		da, ra := splitDigits(a)
		db, rb := splitDigits(b)
		if da != "" && db != "" {
			na, nb := strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			a, b = ra, rb
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func splitDigits(s string) (digits, rest string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i], s[i:]
}

// FetchKernel returns the kernel package pkg unpacked under cacheDir,
// downloading and unpacking it first when the cache lacks it. Downloads go
// through `apt-get download`, which verifies the package against the
// archive's signed index; unpacking uses `dpkg-deb -x` into a temporary
// directory renamed into place, so an interrupted fetch leaves no
// half-unpacked tree.
func FetchKernel(ctx context.Context, cacheDir, pkg string) (*Kernel, error) {
	if !strings.HasPrefix(pkg, "linux-image-") || strings.ContainsAny(pkg, "/ ") {
		return nil, fmt.Errorf("%q is not a linux-image package: %w", pkg, ErrNoKernelPackage)
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("create kernel cache: %w", err)
	}
	root := filepath.Join(cacheDir, pkg)
	if k, err := unpackedKernel(pkg, root); err == nil {
		return k, nil
	}
	deb, err := downloadPackage(ctx, cacheDir, pkg)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(cacheDir, ".unpack-"+pkg+"-")
	if err != nil {
		return nil, fmt.Errorf("unpack %s: %w", pkg, err)
	}
	defer os.RemoveAll(tmp)
	if out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", deb, tmp).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("unpack %s with dpkg-deb -x: %w: %s", deb, err, bytes.TrimSpace(out))
	}
	if _, err := unpackedKernel(pkg, tmp); err != nil {
		return nil, err
	}
	_ = os.RemoveAll(root) // a tree from an older, broken fetch
	if err := os.Rename(tmp, root); err != nil {
		// Another gobcc-vm may have unpacked the same package meanwhile.
		if k, kerr := unpackedKernel(pkg, root); kerr == nil {
			return k, nil
		}
		return nil, fmt.Errorf("move unpacked %s into the cache: %w", pkg, err)
	}
	return unpackedKernel(pkg, root)
}

// downloadPackage returns the cached .deb of pkg, downloading it when absent.
func downloadPackage(ctx context.Context, cacheDir, pkg string) (string, error) {
	if deb := cachedDeb(cacheDir, pkg); deb != "" {
		return deb, nil
	}
	cmd := exec.CommandContext(ctx, "apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", pkg)
	cmd.Dir = cacheDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("apt-get download %s: %w: %s (is it in apt's lists? try apt-get update)",
			pkg, err, bytes.TrimSpace(out))
	}
	if deb := cachedDeb(cacheDir, pkg); deb != "" {
		return deb, nil
	}
	return "", fmt.Errorf("apt-get download %s left no %s_*.deb in %s: %w", pkg, pkg, cacheDir, ErrNoKernelPackage)
}

func cachedDeb(cacheDir, pkg string) string {
	debs, _ := filepath.Glob(filepath.Join(cacheDir, pkg+"_*_amd64.deb"))
	if len(debs) == 0 {
		return ""
	}
	sort.Slice(debs, func(i, j int) bool { return versionLess(debs[i], debs[j]) })
	return debs[len(debs)-1]
}

// unpackedKernel finds the kernel image in an unpacked package tree.
func unpackedKernel(pkg, root string) (*Kernel, error) {
	images, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	if len(images) != 1 {
		return nil, fmt.Errorf("%s: want one boot/vmlinuz-* in %s, found %d: %w", pkg, root, len(images), ErrNoKernelPackage)
	}
	k := &Kernel{Package: pkg, Release: strings.TrimPrefix(filepath.Base(images[0]), "vmlinuz-"), Root: root}
	if _, err := os.Stat(k.ModulesDir()); err != nil {
		return nil, fmt.Errorf("%s: no modules directory: %w", pkg, err)
	}
	return k, nil
}

// commandError adds a command's stderr to its exit error.
func commandError(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, bytes.TrimSpace(ee.Stderr))
	}
	return err
}
