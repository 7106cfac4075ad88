package srcmap

import (
	"strings"
	"testing"
)

const userSource = `BPF_HASH(counts, u32, u64);
int f(void *ctx) {
    u32 k = 1;
    u64 *v = counts.lookup(&k);
    if (v)
        *v += 1;
    return 0;
}
`

func TestMapLogFindsUserLines(t *testing.T) {
	m := New(userSource, "prog.c")
	// libbcc added 20 lines before the user's and rewrote the lookup.
	log := "0: (b7) r1 = 1\n" +
		"; u32 k = 1; @ main.c:23\n" +
		"; u64 *v = bpf_map_lookup_elem((void *)bpf_pseudo_fd(1, -1), &k); @ main.c:24\n" +
		"; if (v) @ main.c:25\n" +
		"processed 9 insns\n"
	got := m.MapLog(log)
	for _, want := range []string{"; u32 k = 1; @ prog.c:3", "@ prog.c:4", "; if (v) @ prog.c:5", "processed 9 insns"} {
		if !strings.Contains(got, want) {
			t.Errorf("mapped log lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "main.c") {
		t.Errorf("mapped log still names main.c:\n%s", got)
	}
}

func TestCompilerOutputMapsRewrittenLines(t *testing.T) {
	m := New(userSource, "prog.c")
	out := "/virtual/main.c:26:10: error: use of undeclared identifier 'x'\n" +
		"        *v += 1;\n" +
		"         ^\n" +
		"/virtual/include/bcc/helpers.h:5:1: warning: something\n"
	diags, mapped := m.CompilerOutput(out)
	if len(diags) != 2 {
		t.Fatalf("got %d diagnostics, want 2: %+v", len(diags), diags)
	}
	d := diags[0]
	if d.File != "prog.c" || d.Line != 6 || d.Column != 10 || d.Severity != "error" || !strings.Contains(d.Source, "*v += 1;") {
		t.Errorf("first diagnostic = %+v, want prog.c:6:10 error with its source", d)
	}
	if diags[1].File != "/virtual/include/bcc/helpers.h" || diags[1].Severity != "warning" {
		t.Errorf("header diagnostic = %+v", diags[1])
	}
	if !strings.HasPrefix(mapped, "prog.c:6:10: error:") {
		t.Errorf("mapped output starts %q", mapped)
	}
}

func TestHint(t *testing.T) {
	out := "some text\nHINT: The invalid mem access 'inv' error can happen.\nMore.\n\nafter"
	if got := Hint(out); got != "HINT: The invalid mem access 'inv' error can happen.\nMore." {
		t.Errorf("Hint = %q", got)
	}
	if got := Hint("nothing"); got != "" {
		t.Errorf("Hint without one = %q", got)
	}
}

func TestProcessedInsnsTakesTheLastSummary(t *testing.T) {
	log := "0: (b7) r0 = 0\nprocessed 3 insns (limit 1000000)\n...\nprocessed 17 insns (limit 1000000) max_states_per_insn 0\n"
	if n, ok, err := ProcessedInsns(log); n != 17 || !ok || err != nil {
		t.Errorf("ProcessedInsns = %d, %v, %v, want 17", n, ok, err)
	}
	if _, ok, _ := ProcessedInsns("0: (95) exit\n"); ok {
		t.Error("ProcessedInsns found a count in a log without one")
	}
}

func TestLastLinesSkipsEmptyLines(t *testing.T) {
	log := "a\nb\n\n  \nc\nd\n\n"
	if got := LastLines(log, 3); got != "b\nc\nd" {
		t.Errorf("LastLines(3) = %q", got)
	}
	if got := LastLines(log, 10); got != "a\nb\nc\nd" {
		t.Errorf("LastLines(10) = %q", got)
	}
}
