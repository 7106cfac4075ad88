package usym

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Mapping is one line of /proc/PID/maps.
type Mapping struct {
	Start, End uint64 // [Start, End) in the process's address space
	Perms      string // "r-xp"
	Offset     uint64 // file offset of Start
	Dev        string // "fd:01"
	Inode      uint64
	Path       string // as the process sees it; "" for anonymous memory
}

// Executable reports whether the mapping is executable.
func (m Mapping) Executable() bool { return strings.IndexByte(m.Perms, 'x') >= 0 }

// FileBacked reports whether the mapping names a file (or the vDSO), as
// libbcc's bcc_mapping_is_file_backed decides.
func (m Mapping) FileBacked() bool {
	p := m.Path
	if p == "" {
		return false
	}
	for _, prefix := range []string{"//anon", "/dev/zero", "/anon_hugepage", "[stack", "/SYSV", "[heap]", "[vsyscall]"} {
		if strings.HasPrefix(p, prefix) {
			return false
		}
	}
	return true
}

// ReadMaps reads /proc/PID/maps.
func ReadMaps(pid int) ([]Mapping, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil, fmt.Errorf("read maps of pid %d: %w", pid, err)
	}
	return ParseMaps(data)
}

// ParseMaps parses the text of a /proc/PID/maps file.
func ParseMaps(data []byte) ([]Mapping, error) {
	var out []Mapping
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		m, err := parseMapsLine(line)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

func parseMapsLine(line string) (Mapping, error) {
	var m Mapping
	// address perms offset dev inode [path]; the path may hold spaces.
	fields := make([]string, 0, 5)
	rest := line
	for len(fields) < 5 {
		rest = strings.TrimLeft(rest, " ")
		i := strings.IndexByte(rest, ' ')
		if i < 0 {
			fields = append(fields, rest)
			rest = ""
			break
		}
		fields = append(fields, rest[:i])
		rest = rest[i:]
	}
	if len(fields) < 5 {
		return m, fmt.Errorf("%w: %q", ErrMalformedMaps, line)
	}
	dash := strings.IndexByte(fields[0], '-')
	if dash < 0 {
		return m, fmt.Errorf("%w: %q", ErrMalformedMaps, line)
	}
	var err1, err2, err3, err4 error
	m.Start, err1 = strconv.ParseUint(fields[0][:dash], 16, 64)
	m.End, err2 = strconv.ParseUint(fields[0][dash+1:], 16, 64)
	m.Perms = fields[1]
	m.Offset, err3 = strconv.ParseUint(fields[2], 16, 64)
	m.Dev = fields[3]
	m.Inode, err4 = strconv.ParseUint(fields[4], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return m, fmt.Errorf("%w: %q", ErrMalformedMaps, line)
	}
	m.Path = strings.TrimLeft(rest, " ")
	return m, nil
}
