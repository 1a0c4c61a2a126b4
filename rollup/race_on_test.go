//go:build race

package rollup

// raceEnabled is true under -race, which makes sync.Pool drop items at random
// and so adds allocations that a normal build does not have.
const raceEnabled = true
