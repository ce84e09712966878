//go:build race

package kernels

// The race detector makes sync.Pool drop items at random, so the allocation
// test of the pool-less MatMul only holds without it.
const raceEnabled = true
