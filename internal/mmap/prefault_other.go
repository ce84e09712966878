//go:build !linux

package mmap

// PrefaultWrite is a Linux hint (see prefault_linux.go); elsewhere the pages
// fault in as they are written.
func PrefaultWrite(b []byte) error { return nil }
