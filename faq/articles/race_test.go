//go:build race

package articles

// raceEnabled is true when the tests run under the race detector, which
// slows training on the big data sets down too much to be worth it: those
// tests check figures, not concurrency.
const raceEnabled = true
