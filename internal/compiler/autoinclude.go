package compiler

import "strings"

// autoIncludes is BCC's BPF._auto_includes, in its order.
var autoIncludes = []struct {
	header   string
	keywords []string
}{
	{"linux/time.h", []string{"time"}},
	{"linux/fs.h", []string{"fs", "file"}},
	{"linux/blkdev.h", []string{"bio", "request"}},
	{"linux/slab.h", []string{"alloc"}},
	{"linux/netdevice.h", []string{"sk_buff", "net_device"}},
}

// AutoIncludes returns the #include lines BCC's generate_auto_includes
// derives from the words of a program: a header is included once when one
// of its keywords occurs within a word.
func AutoIncludes(programWords []string) string {
	var b strings.Builder
	for _, inc := range autoIncludes {
		line := "#include <" + inc.header + ">\n"
	keywords:
		for _, kw := range inc.keywords {
			for _, w := range programWords {
				if strings.Contains(w, kw) && !strings.Contains(b.String(), line) {
					b.WriteString(line)
					break keywords
				}
			}
		}
	}
	return b.String()
}
