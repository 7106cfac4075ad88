package bcc

import (
	"os"
	"testing"

	"github.com/gobcc/gobcc/headers"
	"github.com/gobcc/gobcc/internal/compiler"
	"github.com/gobcc/gobcc/internal/kheaders"
	"github.com/gobcc/gobcc/internal/testutil"
)

// headerBenchPrograms are compiled by BenchmarkNewHeaders: the seed program
// (no kernel include: libbcc's own includes only) and one reading
// task_struct through <linux/sched.h>.
var headerBenchPrograms = map[string]string{
	"seed": `BPF_HASH(callers, u64, unsigned long);
TRACEPOINT_PROBE(kmem, kmalloc) {
	u64 ip = args->call_site;
	unsigned long c = 1, *count = callers.lookup(&ip);
	if (count != 0)
		c += *count;
	callers.update(&ip, &c);
	return 0;
}`,
	"sched": `#include <linux/sched.h>
BPF_HASH(parents, u32, u32);
TRACEPOINT_PROBE(sched, sched_process_exec) {
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	u32 pid = task->tgid, ppid = task->real_parent->tgid;
	parents.update(&pid, &ppid);
	return 0;
}`,
}

// BenchmarkNewHeaders compares New (compile, load, attach; no compile
// cache) against the installed headers and against the BTF tree with a
// warm header cache, through the program's type subset ("btf") and through
// the whole tree ("btf-whole", subsets off); the "btf-generate" case is
// the first generation of a tree into an empty cache.
func BenchmarkNewHeaders(b *testing.B) {
	testutil.RequireRoot(b)
	for _, prog := range []string{"seed", "sched"} {
		for _, variant := range []string{headers.Installed, headers.BTF, "btf-whole"} {
			b.Run(prog+"/"+variant, func(b *testing.B) {
				policy := variant
				if variant == "btf-whole" {
					policy = headers.BTF
					b.Setenv(compiler.NoSubsetsEnv, "1")
				}
				if _, err := headers.Resolve(policy); err != nil {
					testutil.RequireKernel(b, "headers %s: %v", policy, err)
				}
				for b.Loop() {
					bpf, err := New(Options{Text: headerBenchPrograms[prog], Headers: policy, NoCache: true})
					if err != nil {
						b.Fatal(err)
					}
					bpf.Close()
				}
			})
		}
	}
	b.Run("btf-generate", func(b *testing.B) {
		if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
			testutil.RequireKernel(b, "no kernel BTF: %v", err)
		}
		for b.Loop() {
			c := kheaders.Config{CacheDir: b.TempDir()}
			if _, err := c.Generate(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
