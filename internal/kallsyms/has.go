package kallsyms

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// Has reports whether the kallsyms file at path (normally /proc/kallsyms)
// names sym, without building a Table: BCC's feature checks such as
// support_raw_tracepoint_in_module ask about one symbol.
func Has(path, sym string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("kernel symbols: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "addr type name\t[module]"
		fields := strings.Fields(sc.Text())
		if len(fields) >= 3 && fields[2] == sym {
			return true, nil
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("kernel symbols: %w", err)
	}
	return false, nil
}
