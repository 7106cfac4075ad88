package usym

import "testing"

func TestLazyMakesOnceAndReleases(t *testing.T) {
	var l Lazy
	if l.Held() {
		t.Fatal("a zero Lazy holds a resolver")
	}
	r := l.Get()
	if l.Get() != r || !l.Held() {
		t.Error("a second Get made another resolver")
	}
	l.Release()
	if l.Held() {
		t.Error("Release kept the resolver")
	}
	if l.Get() == r {
		t.Error("Get after Release returned the closed resolver")
	}
	l.Release()
}
