//go:build race

package llama_test

// The race detector makes sync.Pool drop items, so allocation counts are
// not meaningful under it.
const raceEnabled = true
