package cachelist

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gobcc/gobcc/cache"
	"github.com/gobcc/gobcc/internal/testutil"
)

func TestMain(m *testing.M) { testutil.LeakCheckMain(m) }

var entries = []cache.Entry{
	{Key: "0123456789abcdef0123", Size: 1000, LastUsed: time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)},
	{Key: "short", Size: 24, LastUsed: time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)},
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, entries, "/c/objects", false); err != nil {
		t.Fatal(err)
	}
	want := "0123456789abcdef      1000  2026-12-05 08:00:00\nshort        24  2026-12-04 08:00:00\n2 entries, 1024 bytes in /c/objects\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, entries, "/c/objects", true); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	var e jsonEntry
	if err := json.Unmarshal([]byte(lines[0]), &e); err != nil || e.Type != "cache_entry" || e.Key != entries[0].Key || e.LastUsed != "2026-12-05T08:00:00Z" {
		t.Errorf("%s: %+v, %v", lines[0], e, err)
	}
}
