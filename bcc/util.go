package bcc

import (
	"errors"
	"fmt"
	"os/exec"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/kbtf"
	"github.com/gobcc/gobcc/internal/usym"
)

// MonotonicTime returns CLOCK_MONOTONIC in nanoseconds, the clock of the
// bpf_ktime_get_ns() helper (BCC's BPF.monotonic_time): subtract it from
// an event's timestamp to learn the event's age.
func MonotonicTime() uint64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) // cannot fail for this clock
	return uint64(ts.Nano())
}

// OnlineCPUs lists the online CPUs (BCC's utils.get_online_cpus).
func OnlineCPUs() ([]int, error) { return bpfsys.OnlineCPUs() }

// PossibleCPUs is the number of possible CPUs, the size of per-CPU values
// (BCC's len(utils.get_possible_cpus())).
func PossibleCPUs() (int, error) { return bpfsys.PossibleCPUs() }

// FindExe finds an executable as BCC's BPF.find_exe does: a name with a
// slash is checked as it is, else the directories of $PATH are searched.
// It returns an error wrapping exec.ErrNotFound when there is none.
func FindExe(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("find executable: %w", err)
	}
	return p, nil
}

// KernelStructHasField reports whether the running kernel's struct
// structName has a member fieldName (BCC's kernel_struct_has_field), from
// the kernel's BTF. Tools use it to pick between code for kernel versions.
// Without kernel BTF the error wraps ErrNotSupported; an unknown struct is
// an error too (BCC returns -1 for both).
func KernelStructHasField(structName, fieldName string) (bool, error) {
	has, err := kbtf.StructHasField(structName, fieldName)
	if errors.Is(err, kbtf.ErrNoKernelBTF) {
		return false, fmt.Errorf("%w: %w", ErrNotSupported, err)
	}
	return has, err
}

// Languages are the runtimes DetectLanguage knows, in the order it tries
// them (libbcc's bcc_procutils_language).
var Languages = []string{"java", "node", "perl", "php", "python", "ruby", "tcl"}

// DetectLanguage guesses the language runtime of process pid as BCC's
// utils.detect_language does: a language whose name is in the path of the
// executable, else a mapped library /libLANG..., else "c" when the process
// maps a libc. It returns "" when the guess is not among candidates (all
// Languages and "c" when candidates is nil).
func DetectLanguage(candidates []string, pid int) (string, error) {
	lang, err := usym.DetectLanguage(pid, Languages)
	if err != nil {
		return "", err
	}
	if candidates != nil && !slices.Contains(candidates, lang) {
		return "", nil
	}
	return lang, nil
}
