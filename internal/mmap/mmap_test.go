package mmap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMap(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte("hello"), 0o644)
	m, err := Map(p, 4, "a header")
	if err != nil || string(m) != "hello" {
		t.Fatalf("%q %v", m, err)
	}
	if err := Unmap(m); err != nil {
		t.Fatal(err)
	}
	if _, err := Map(p, 8, "a header"); err == nil || !strings.Contains(err.Error(), "too short for a header") {
		t.Fatalf("short file: %v", err)
	}
	if _, err := Map(filepath.Join(t.TempDir(), "none"), 0, ""); err == nil {
		t.Fatal("missing file mapped")
	}
}

func TestMapPrivateLeavesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte("hello"), 0o644)
	m, err := MapPrivate(p, 1, "a byte")
	if err != nil {
		t.Fatal(err)
	}
	m[0] = 'J'
	if string(m) != "Jello" {
		t.Fatalf("mapping reads %q", m)
	}
	if err := Unmap(m); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "hello" {
		t.Fatalf("file changed to %q", b)
	}
}

// TestPrefaultWrite pre-faults an unaligned range of a private mapping
// (spanning pages) and of heap memory: contents and the file must not change,
// and where the kernel supports the call at all (an aligned whole mapping)
// the unaligned range must succeed too.
func TestPrefaultWrite(t *testing.T) {
	page := os.Getpagesize()
	data := make([]byte, 3*page+100)
	for i := range data {
		data[i] = byte(i * 7)
	}
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := MapPrivate(p, 1, "data")
	if err != nil {
		t.Fatal(err)
	}
	defer Unmap(m)
	if err := PrefaultWrite(m); err != nil {
		t.Skipf("kernel without MADV_POPULATE_WRITE: %v", err)
	}
	if err := PrefaultWrite(m[page-10 : 2*page+10]); err != nil {
		t.Fatalf("unaligned range: %v", err)
	}
	if err := PrefaultWrite(data[5:17]); err != nil {
		t.Fatalf("heap range: %v", err)
	}
	if err := PrefaultWrite(nil); err != nil {
		t.Fatal(err)
	}
	if string(m) != string(data) {
		t.Fatal("mapping changed")
	}
	m[page] = ^m[page]
	if b, _ := os.ReadFile(p); string(b) != string(data) {
		t.Fatal("file changed")
	}
}
