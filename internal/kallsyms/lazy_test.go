package kallsyms

import "testing"

// TestLazy loads once, hands out the same table until Release, and loads
// anew afterwards.
func TestLazy(t *testing.T) {
	var l Lazy
	a, errA := l.Get()
	b, errB := l.Get()
	if a != b || errA != errB {
		t.Fatalf("two Gets: %p, %v and %p, %v", a, errA, b, errB)
	}
	if errA == nil && a.Len() == 0 {
		t.Error("empty table")
	}
	l.Release()
	if c, err := l.Get(); errA == nil && (err != nil || c == a) {
		t.Errorf("Get after Release: %p (was %p), %v", c, a, err)
	}
}
