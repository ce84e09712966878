package checkpoint

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/bayling-go/bayling/internal/hub"
)

// resolvePath maps a model reference to a local path. A path that exists is
// used as is; otherwise ORG/NAME[@REV] is looked up in the Hugging Face
// cache (no network: `bayling pull` fills the cache). A snapshot with
// config.json is a Hugging Face directory; one with a single .gguf file is
// that file.
func resolvePath(path string) (string, error) {
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	ref, err := hub.ParseRef(path)
	if err != nil {
		return path, nil // not a reference: let the loader report the missing file
	}
	snap, err := hub.FromEnv().Resolve(ref)
	if err != nil {
		return "", fmt.Errorf("checkpoint: %s is neither a file nor a cached model: %w", path, err)
	}
	if _, err := os.Stat(filepath.Join(snap, "config.json")); err == nil {
		return snap, nil
	}
	ggufs, _ := filepath.Glob(filepath.Join(snap, "*.gguf"))
	switch len(ggufs) {
	case 1:
		return ggufs[0], nil
	case 0:
		return "", fmt.Errorf("checkpoint: %s: snapshot %s has neither config.json nor a .gguf file", path, snap)
	}
	return "", fmt.Errorf("checkpoint: %s: snapshot %s has %d .gguf files; pass one of them with -m", path, snap, len(ggufs))
}
