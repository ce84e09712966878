package main

import "github.com/bayling-go/bayling/internal/kernels"

// kernelSet names the kernel set chosen by runtime CPU dispatch.
func kernelSet() string { return kernels.Active() }
