package main

import (
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// isTerminal reports whether f is a terminal, as isatty(3) does.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// startProgress shows "msg ... 1.3s" on a terminal until stop is called,
// so a compile of several seconds does not look like a hang. It shows
// nothing when f is not a terminal, keeping logs and pipes clean, and
// nothing for work that ends within delay.
func startProgress(f *os.File, msg string, delay time.Duration) (stop func()) {
	if !isTerminal(f) {
		return func() {}
	}
	start := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		timer := time.NewTimer(delay)
		defer timer.Stop()
		select {
		case <-done:
			return
		case <-timer.C:
		}
		ticker := time.NewTicker(100 * time.Millisecond)
		defer ticker.Stop()
		for {
			fmt.Fprintf(f, "\r%s ... %.1fs", msg, time.Since(start).Seconds())
			select {
			case <-done:
				// Erase the line so the next output starts clean.
				fmt.Fprint(f, "\r\x1b[K")
				return
			case <-ticker.C:
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
		})
	}
}
