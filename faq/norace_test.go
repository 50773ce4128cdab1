//go:build !race

package faq

// raceEnabled is true when the tests run under the race detector.
const raceEnabled = false
