package usym

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDetectLanguageOfSleep: sleep is C, mapping libc and no runtime.
func TestDetectLanguageOfSleep(t *testing.T) {
	sleep := exec.Command("sleep", "30")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleep.Process.Kill(); sleep.Wait() }()
	// Until the child has exec'd, /proc/PID/exe is this test binary: wait
	// for sleep's, and for the dynamic loader to have mapped libc.
	proc := "/proc/" + strconv.Itoa(sleep.Process.Pid)
	for {
		exe, _ := os.Readlink(proc + "/exe")
		maps, _ := os.ReadFile(proc + "/maps")
		if strings.HasSuffix(exe, "/sleep") && strings.Contains(string(maps), "libc") {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got, err := DetectLanguage(sleep.Process.Pid, []string{"python", "java"}); err != nil || got != "c" {
		t.Errorf("DetectLanguage(sleep) = %q, %v; want c", got, err)
	}
	if got, err := DetectLanguage(sleep.Process.Pid, []string{"sle"}); err != nil || got != "sle" {
		t.Errorf("a language named in the executable's path: %q, %v", got, err)
	}
	if _, err := DetectLanguage(1<<30, nil); err == nil {
		t.Error("a missing process gave no error")
	}
}
