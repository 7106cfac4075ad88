package vm

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// guestModules are the modules the guest's /init loads before it can mount
// the host's file system: the virtio PCI transport, 9p over virtio and
// overlayfs. Their dependencies are added by moduleLoadOrder. Debian builds
// them as modules; on a kernel that builds one in, it is simply not found
// and not needed.
var guestModules = []string{"virtio_pci", "9pnet_virtio", "9p", "overlay"}

// moduleExts are the suffixes of module files: plain, and compressed as
// newer Debian kernels ship them.
var moduleExts = []string{".ko", ".ko.xz", ".ko.zst"}

// readModule returns a module's ELF bytes, decompressed with the xz or zstd
// command when the file is compressed (busybox's insmod takes plain .ko).
func readModule(path string) ([]byte, error) {
	var tool string
	switch {
	case strings.HasSuffix(path, ".ko.xz"):
		tool = "xz"
	case strings.HasSuffix(path, ".ko.zst"):
		tool = "zstd"
	default:
		return os.ReadFile(path)
	}
	out, err := exec.Command(tool, "-dc", path).Output()
	if err != nil {
		return nil, fmt.Errorf("decompress %s with %s: %w", path, tool, commandError(err))
	}
	return out, nil
}

// moduleName normalizes a module name: the kernel treats - and _ alike.
func moduleName(s string) string { return strings.ReplaceAll(s, "-", "_") }

// indexModules maps every module name under dir to its .ko path.
func indexModules(dir string) (map[string]string, error) {
	paths := make(map[string]string)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		for _, ext := range moduleExts {
			if name, ok := strings.CutSuffix(d.Name(), ext); ok {
				paths[moduleName(name)] = path
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list kernel modules: %w", err)
	}
	return paths, nil
}

// builtinModules reads modules.builtin: modules compiled into the kernel,
// which need no loading.
func builtinModules(modulesDir string) map[string]bool {
	builtin := make(map[string]bool)
	content, err := os.ReadFile(filepath.Join(modulesDir, "modules.builtin"))
	if err != nil {
		return builtin
	}
	for _, line := range strings.Fields(string(content)) {
		builtin[moduleName(strings.TrimSuffix(filepath.Base(line), ".ko"))] = true
	}
	return builtin
}

// moduleDepends reads the "depends=" entry of a module's .modinfo section.
// The section is a list of NUL-terminated key=value strings; the host has
// no modinfo (kmod) to ask, and the entry is found in the file's bytes.
func moduleDepends(ko []byte) []string {
	const key = "\x00depends="
	i := bytes.Index(ko, []byte(key))
	if i < 0 {
		return nil
	}
	rest := ko[i+len(key):]
	if end := bytes.IndexByte(rest, 0); end >= 0 {
		rest = rest[:end]
	}
	var deps []string
	for _, d := range strings.Split(string(rest), ",") {
		if d != "" {
			deps = append(deps, moduleName(d))
		}
	}
	return deps
}

// moduleLoadOrder returns the .ko paths to insmod, dependencies first, for
// the wanted modules of the tree at modulesDir. Wanted modules that are
// built in are left out; missing ones are an error.
func moduleLoadOrder(modulesDir string, wanted []string) ([]string, error) {
	paths, err := indexModules(modulesDir)
	if err != nil {
		return nil, err
	}
	builtin := builtinModules(modulesDir)
	var order []string            // .ko paths, dependencies first
	state := make(map[string]int) // 1 visiting, 2 done
	var visit func(name string, chain []string) error
	visit = func(name string, chain []string) error {
		switch state[name] {
		case 1:
			return fmt.Errorf("module dependency cycle: %s", strings.Join(append(chain, name), " -> "))
		case 2:
			return nil
		}
		path, ok := paths[name]
		if !ok {
			if builtin[name] {
				state[name] = 2
				return nil
			}
			return fmt.Errorf("module %s (needed by %s) is neither in %s nor built in",
				name, strings.Join(chain, " -> "), modulesDir)
		}
		state[name] = 1
		ko, err := readModule(path)
		if err != nil {
			return fmt.Errorf("read module %s: %w", name, err)
		}
		for _, dep := range moduleDepends(ko) {
			if err := visit(dep, append(chain, name)); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, path)
		return nil
	}
	for _, name := range wanted {
		if err := visit(moduleName(name), nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}
