//go:build !race

package bcc

// raceDetector is true in -race builds; see race_on_test.go.
const raceDetector = false
