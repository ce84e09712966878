package checkpoint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/testenv"
)

// A model in the Hugging Face cache layout loads by ORG/NAME, offline.
func TestLoadFromHubCache(t *testing.T) {
	src := testenv.SharedPath(t, "fixtures", "gguf", "stories260K.llamacpp-c392e50.gguf")
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	repo := filepath.Join(cache, "models--karpathy--tiny")
	commit := "0123456789abcdef0123456789abcdef01234567"
	snap := filepath.Join(repo, "snapshots", commit)
	os.MkdirAll(snap, 0o755)
	os.MkdirAll(filepath.Join(repo, "refs"), 0o755)
	os.WriteFile(filepath.Join(repo, "refs", "main"), []byte(commit), 0o644)
	if err := os.Symlink(src, filepath.Join(snap, "stories260K.gguf")); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"karpathy/tiny", "karpathy/tiny@main", "karpathy/tiny@" + commit} {
		m, err := Load(ref, Options{})
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if m.Config.VocabSize != 512 {
			t.Errorf("%s: vocab %d", ref, m.Config.VocabSize)
		}
		m.Close()
	}
	if _, err := Load("karpathy/absent", Options{}); err == nil || !strings.Contains(err.Error(), "bayling pull") {
		t.Errorf("absent model: %v", err)
	}
}

func TestQuantizeOnLoadOnlyForHF(t *testing.T) {
	p := testenv.SharedPath(t, "fixtures", "gguf", "stories260K.llamacpp-c392e50.gguf")
	if _, err := Load(p, Options{Quantize: "q8_0"}); err == nil || !strings.Contains(err.Error(), "bayling quantize") {
		t.Fatalf("want an error pointing to bayling quantize, got %v", err)
	}
}
