//go:build !race

package emitter

// raceEnabled skips allocation checks: the race detector makes sync.Pool
// drop items on purpose.
const raceEnabled = false
