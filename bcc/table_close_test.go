package bcc

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

// TestTableOpsConcurrentWithClose runs every kind of table operation in
// loops while Close runs. Each operation holds the table's read lock for its
// syscall, so it either completes or sees ErrClosed: never EBADF (the
// descriptor closed under it) nor a reused descriptor. Run with -race, it
// also checks that the descriptor is only read under the lock.
func TestTableOpsConcurrentWithClose(t *testing.T) {
	testutil.RequireRoot(t)
	for round := range 3 {
		b, err := New(Options{Text: `
BPF_HASH(h, u32, u64, 1024);
BPF_ARRAY(a, u64, 64);
BPF_PERCPU_ARRAY(pc, u64, 8);
BPF_ARRAY(inner, u64, 4);
BPF_ARRAY_OF_MAPS(aom, "inner", 4);
BPF_QUEUE(q, u64, 16);
BPF_HISTOGRAM(dist);
BPF_PROG_ARRAY(progs, 4);
int tail(void *ctx) { return 0; }
`, NoAutoAttach: true})
		if err != nil {
			t.Fatal(err)
		}
		h, a, pc, q := mustTable(t, b, "h"), mustTable(t, b, "a"), mustTable(t, b, "pc"), mustTable(t, b, "q")
		inner, aom, dist := mustTable(t, b, "inner"), mustTable(t, b, "aom"), mustTable(t, b, "dist")
		typed, err := TableOf[uint32, uint64](h)
		if err != nil {
			t.Fatal(err)
		}
		tail, err := b.LoadFunc("tail", Tracepoint)
		if err != nil {
			t.Fatal(err)
		}
		progs := mustTable(t, b, "progs")
		ops := map[string]func(i int) error{
			"update":       func(i int) error { return h.Update(uint32(i%1024), uint64(i)) },
			"lookup":       func(i int) error { _, err := h.Lookup(uint32(i % 1024)); return err },
			"delete":       func(i int) error { return h.Delete(uint32(i % 1024)) },
			"items":        func(int) error { _, err := h.Items(); return err },
			"len":          func(int) error { _, err := h.Len(); return err },
			"clear":        func(int) error { return a.Clear() },
			"zero":         func(int) error { return h.Zero() },
			"batch update": func(i int) error { return h.ItemsUpdateBatch([]any{uint32(i % 7)}, []any{uint64(i)}) },
			"batch delete": func(int) error { _, err := h.ItemsLookupAndDeleteBatch(); return err },
			"sum":          func(i int) error { _, err := pc.Sum(i % 8); return err },
			"typed":        func(i int) error { return typed.Update(uint32(i%1024), uint64(i)) },
			"typed items":  func(int) error { _, _, err := typed.Items(); return err },
			"push":         func(i int) error { return q.Push(uint64(i), PushExist) },
			"pop":          func(int) error { _, err := q.Pop(); return err },
			"inner map":    func(i int) error { return aom.Update(i%4, inner) },
			"histogram":    func(int) error { _, err := dist.Histogram(Log2Scale); return err },
			"prog array":   func(i int) error { return progs.SetFunction(i%4, tail) },
			"all": func(int) error {
				for _, err := range a.All() {
					return err
				}
				return nil
			},
		}
		var wg sync.WaitGroup
		var started sync.WaitGroup
		var closedSeen atomic.Int32
		errs := make(chan error, len(ops))
		for name, op := range ops {
			wg.Add(1)
			started.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					if i == 10 {
						started.Done()
					}
					err := op(i)
					switch {
					case err == nil, errors.Is(err, ErrKeyNotExist):
					case errors.Is(err, ErrClosed):
						closedSeen.Add(1)
						if i < 10 {
							started.Done()
						}
						return
					default:
						errs <- errors.Join(errors.New(name), err)
						if i < 10 {
							started.Done()
						}
						return
					}
				}
			}()
		}
		started.Wait() // every operation ran at least 10 times
		_ = a.Update(1, 5)
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("round %d: %v", round, err)
		}
		if int(closedSeen.Load()) != len(ops) {
			t.Errorf("round %d: %d of %d operations ended with ErrClosed", round, closedSeen.Load(), len(ops))
		}
	}
}

// TestAllReportsReadErrors checks the iterators' rule: a read error is
// yielded once, with a zero item, and ends the iteration. All reads 256
// entries at a time, so closing the object mid-iteration is such an error.
func TestAllReportsReadErrors(t *testing.T) {
	testutil.RequireRoot(t)
	for _, typed := range []bool{false, true} {
		b, err := New(Options{Text: `BPF_HASH(h, u32, u64, 2048); BPF_QUEUE(q, u64, 4);`, NoAutoAttach: true})
		if err != nil {
			t.Fatal(err)
		}
		h := mustTable(t, b, "h")
		const n = 1000
		for i := range n {
			if err := h.Update(uint32(i), uint64(i*10)); err != nil {
				t.Fatal(err)
			}
		}
		tt, err := TableOf[uint32, uint64](h)
		if err != nil {
			t.Fatal(err)
		}
		// all runs one of the two iterators, calling body for each item.
		all := func(body func(k, v uint64, err error) bool) {
			if typed {
				for it, err := range tt.All() {
					if !body(uint64(it.Key), it.Value, err) {
						return
					}
				}
				return
			}
			for it, err := range h.All() {
				if !body(it.Key.Uint64(), it.Value.Uint64(), err) {
					return
				}
			}
		}
		seen := map[uint64]bool{}
		all(func(k, v uint64, err error) bool {
			if err != nil || v != k*10 || seen[k] {
				t.Fatalf("typed %v: item %d = %d, %v (seen before: %v)", typed, k, v, err, seen[k])
			}
			seen[k] = true
			return true
		})
		if len(seen) != n {
			t.Errorf("typed %v: All yielded %d items, want %d", typed, len(seen), n)
		}
		// A wrong table type is a read error too.
		var errs []error
		for it, err := range mustTable(t, b, "q").All() {
			if it.Key.IsValid() {
				t.Errorf("item with an error: %v", it)
			}
			errs = append(errs, err)
		}
		if len(errs) != 1 || !errors.Is(errs[0], ErrWrongTableType) {
			t.Errorf("All on a queue yielded %v, want one ErrWrongTableType", errs)
		}
		// Closed while iterating: the rest of the chunk already read is
		// yielded, then the next read reports ErrClosed, once.
		items := 0
		errs = nil
		all(func(k, v uint64, err error) bool {
			if err != nil {
				errs = append(errs, err)
				return true
			}
			if items == 0 {
				b.Close()
			}
			items++
			return true
		})
		if items == 0 || items >= n || len(errs) != 1 || !errors.Is(errs[0], ErrClosed) {
			t.Errorf("typed %v: closed mid-iteration: %d items, then %v; want fewer than %d items, then one ErrClosed", typed, items, errs, n)
		}
		errs = nil
		all(func(k, v uint64, err error) bool { errs = append(errs, err); return true })
		if len(errs) != 1 || !errors.Is(errs[0], ErrClosed) {
			t.Errorf("typed %v: All after Close yielded %v, want one ErrClosed", typed, errs)
		}
	}
}
