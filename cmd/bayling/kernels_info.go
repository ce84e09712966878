package main

// kernelSet names the active kernel set; internal/kernels replaces this with
// its runtime CPU dispatch report.
func kernelSet() string { return "go (plain)" }
