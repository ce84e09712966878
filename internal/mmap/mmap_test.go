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
