// Package deploy holds no Go code: its tests check the deployment files
// beside them (the Containerfile at the repository's root, the DaemonSet).
package deploy

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gobcc/gobcc/internal/testutil"
)

func TestMain(m *testing.M) { testutil.LeakCheckMain(m) }

// The image the DaemonSet names builds from the Containerfile and exports
// the example programs under the DaemonSet's security context
// (scripts/test_container.sh: capabilities, read-only root, mounts; a
// scrape; SIGTERM ends it with exit code 0).
func TestContainerImage(t *testing.T) {
	testutil.RequireRoot(t)
	for _, tool := range []string{"podman", "runc", "debootstrap"} {
		if _, err := exec.LookPath(tool); err != nil {
			testutil.RequireKernel(t, "no %s (scripts/setup.sh installs it): %v", tool, err)
		}
	}
	if testing.Short() {
		t.Skip("builds an image: minutes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "../scripts/test_container.sh")
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("scripts/test_container.sh: %v", err)
	}
	if !strings.Contains(string(out), "test_container: ok") {
		t.Fatal("the script did not reach its end")
	}
}

// The DaemonSet grants what the container test runs with: the capabilities
// (and SYS_RESOURCE, for kernels before 5.11), the unconfined seccomp profile (runtimes'
// default profiles admit bpf() only with CAP_SYS_ADMIN) and a writable
// cache under a read-only root.
func TestDaemonSetMatchesTheTestedContext(t *testing.T) {
	ds, err := os.ReadFile("kubernetes/daemonset.yaml")
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile("../scripts/test_container.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`add: ["BPF", "PERFMON", "SYS_RESOURCE", "SYSLOG", "DAC_READ_SEARCH", "SYS_PTRACE"]`,
		`seccompProfile: {type: Unconfined}`,
		`readOnlyRootFilesystem: true`,
		`mountPath: /var/cache/gobcc`,
		`mountPath: /sys/kernel/tracing`,
		`hostPID: true`,
	} {
		if !strings.Contains(string(ds), want) {
			t.Errorf("daemonset.yaml lacks %q", want)
		}
	}
	// The test leaves SYS_RESOURCE out: this machine's bounding set lacks
	// it, and its kernel (6.18) charges BPF memory to cgroups, not memlock.
	caps := regexp.MustCompile(`--cap-add (\S+)`).FindSubmatch(script)
	if caps == nil || string(caps[1]) != "BPF,PERFMON,SYSLOG,DAC_READ_SEARCH,SYS_PTRACE" {
		t.Errorf("test_container.sh adds capabilities %q, not the DaemonSet's but SYS_RESOURCE", caps)
	}
}
