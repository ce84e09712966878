package tokenizer

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/bayling-go/bayling/internal/testenv"
)

// sharedDir returns ../shared (fails under CI, skips otherwise when missing).
func sharedDir(t testing.TB) string { return testenv.Shared(t) }

func fixture(t testing.TB, rel string) string {
	return filepath.Join(sharedDir(t), "fixtures", rel)
}

// cached loads each tokenizer once per test binary: the big vocabularies take
// a noticeable fraction of a second.
var (
	cacheMu sync.Mutex
	cache   = map[string]Tokenizer{}
)

func load(t testing.TB, path string) Tokenizer {
	t.Helper()
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if tok, ok := cache[path]; ok {
		return tok
	}
	tok, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	cache[path] = tok
	return tok
}
