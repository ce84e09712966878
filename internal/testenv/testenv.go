// Package testenv locates test inputs shared by every package's tests.
package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// ModuleRoot is the folder holding go.mod, found upward from the working
// directory (a package's folder under go test).
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Shared returns ../shared beside the module root. When it is missing the
// test fails under CI (CI set) and is skipped otherwise.
func Shared(t testing.TB) string {
	t.Helper()
	shared := filepath.Join(ModuleRoot(t), "..", "shared")
	if _, err := os.Stat(shared); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("testenv: ../shared is required under CI: %v", err)
		}
		t.Skipf("testenv: ../shared missing: %v", err)
	}
	return shared
}

// SharedPath joins elements under Shared.
func SharedPath(t testing.TB, elem ...string) string {
	t.Helper()
	return filepath.Join(append([]string{Shared(t)}, elem...)...)
}
