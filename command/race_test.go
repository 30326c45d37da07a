//go:build race

package command

// raceEnabled is true under the race detector, whose instrumentation
// allocates and so voids allocation counts.
const raceEnabled = true
