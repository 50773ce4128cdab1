//go:build !race

package articles

// raceEnabled is true when the tests run under the race detector.
const raceEnabled = false
