package bcc

import "github.com/gobcc/gobcc/internal/features"

// The kernel feature checks (package features) the attach code runs to
// explain a refusal.
func uprobeSupport() error        { return features.Uprobe() }
func kfuncSupport() error         { return features.Kfunc() }
func lsmSupport() error           { return features.LSM() }
func rawTracepointSupport() error { return features.RawTracepoint() }
