//go:build race

package bcc

// raceDetector is true in -race builds, whose runtime keeps shadow memory
// and synchronisation history that grow RSS with no leak in our code.
const raceDetector = true
