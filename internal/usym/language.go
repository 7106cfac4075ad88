package usym

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DetectLanguage guesses the language runtime of process pid as libbcc's
// bcc_procutils_language does: the first of languages whose name is in
// the path of the executable, else one whose library (/libLANG...) the
// process maps, else "c" when it maps a libc, else "".
func DetectLanguage(pid int, languages []string) (string, error) {
	proc := "/proc/" + strconv.Itoa(pid)
	if exe, err := filepath.EvalSymlinks(proc + "/exe"); err == nil {
		for _, l := range languages {
			if strings.Contains(exe, l) {
				return l, nil
			}
		}
	}
	f, err := os.Open(proc + "/maps")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("detect language of pid %d: no such process", pid)
		}
		return "", fmt.Errorf("detect language: %w", err)
	}
	defer f.Close()
	libc := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 {
			continue
		}
		path := fields[5]
		for _, l := range languages {
			if strings.Contains(path, "/lib"+l) {
				return l, nil
			}
		}
		if i := strings.Index(path, "libc"); i >= 0 && len(path) > i+4 && (path[i+4] == '-' || path[i+4] == '.') {
			libc = true
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("detect language: %w", err)
	}
	if libc {
		return "c", nil
	}
	return "", nil
}
