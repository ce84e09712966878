package checkpoint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bayling-go/bayling/internal/gguf"
	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/tokenizer"
)

// Format names a checkpoint file format.
type Format string

const (
	FormatLlama2C Format = "llama2c"
	FormatGGUF    Format = "gguf"
)

// Model is everything needed to run a checkpoint.
type Model struct {
	Path      string
	Format    Format
	Config    llama.Config
	Weights   *llama.Weights
	Tokenizer tokenizer.Tokenizer
	// Stop lists the token ids that end generation: the end-of-generation
	// ids of the tokenizer and config, and for llama2.c models also BOS,
	// which is how run.c ends a story.
	Stop []int

	file *gguf.File // non-nil while the weights alias a mapped GGUF
}

// Options adjusts Load.
type Options struct {
	// Tokenizer is a tokenizer file to use instead of the model's own (GGUF)
	// or the one found beside it (llama2.c: tokenizer.bin or tok<vocab>.bin).
	Tokenizer string
	// Quantize, if set (e.g. "q8_0"), quantizes the matrices of a Hugging
	// Face directory as they are loaded; see HF.Weights.
	Quantize string
}

// Load opens a checkpoint, recognising the format by its first bytes. path
// may also be ORG/NAME[@REV], a model in the Hugging Face cache.
func Load(path string, opt Options) (*Model, error) {
	path, err := resolvePath(path)
	if err != nil {
		return nil, err
	}
	format, err := sniff(path)
	if err != nil {
		return nil, err
	}
	if opt.Quantize != "" && format != FormatHF {
		return nil, fmt.Errorf("checkpoint %s: quantizing on load applies to Hugging Face directories; for a %s file use bayling quantize", path, format)
	}
	var m *Model
	switch format {
	case FormatGGUF:
		m, err = loadGGUF(path, opt)
	case FormatHF:
		m, err = loadHF(path, opt)
	default:
		m, err = loadLlama2C(path, opt)
	}
	if err != nil {
		return nil, err
	}
	if v := m.Tokenizer.VocabSize(); v != m.Config.VocabSize {
		m.Close()
		return nil, fmt.Errorf("checkpoint %s: tokenizer has %d tokens, model %d", path, v, m.Config.VocabSize)
	}
	return m, nil
}

// Close releases the file mapping, if any; the weights are invalid after.
func (m *Model) Close() error {
	if m.file == nil {
		return nil
	}
	f := m.file
	m.file = nil
	return f.Close()
}

func sniff(path string) (Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	if st.IsDir() {
		return FormatHF, nil
	}
	head := make([]byte, 4)
	if _, err := io.ReadFull(f, head); err != nil {
		return "", fmt.Errorf("checkpoint %s: reading the header: %w", path, err)
	}
	if bytes.Equal(head, []byte("GGUF")) {
		return FormatGGUF, nil
	}
	return FormatLlama2C, nil
}

func loadGGUF(path string, opt Options) (*Model, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	cfg, w, err := GGUFWeights(f)
	if err == nil {
		var tok tokenizer.Tokenizer
		if opt.Tokenizer != "" {
			tok, err = tokenizer.Load(opt.Tokenizer)
		} else {
			tok, err = tokenizer.FromGGUF(f)
		}
		if err == nil {
			return &Model{Path: path, Format: FormatGGUF, Config: cfg, Weights: w, Tokenizer: tok, Stop: stopIDs(cfg, tok), file: f}, nil
		}
	}
	f.Close()
	return nil, err
}

func loadLlama2C(path string, opt Options) (*Model, error) {
	cfg, w, err := LoadLlama2C(path)
	if err != nil {
		return nil, err
	}
	tp := opt.Tokenizer
	if tp == "" {
		if tp, err = findLlama2CTokenizer(path, cfg.VocabSize); err != nil {
			return nil, err
		}
	}
	var tok tokenizer.Tokenizer
	if strings.HasSuffix(tp, ".bin") {
		tok, err = tokenizer.LoadLlama2C(tp, cfg.VocabSize)
	} else {
		tok, err = tokenizer.Load(tp)
	}
	if err != nil {
		return nil, err
	}
	stop := append(stopIDs(cfg, tok), cfg.BOSTokenID)
	slices.Sort(stop)
	return &Model{Path: path, Format: FormatLlama2C, Config: cfg, Weights: w, Tokenizer: tok, Stop: slices.Compact(stop)}, nil
}

// findLlama2CTokenizer looks beside the model for tokenizer.bin, then
// tok<vocab>.bin (llama2.c's names).
func findLlama2CTokenizer(model string, vocab int) (string, error) {
	dir := filepath.Dir(model)
	names := []string{"tokenizer.bin", fmt.Sprintf("tok%d.bin", vocab)}
	for _, n := range names {
		p := filepath.Join(dir, n)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("checkpoint: %w", err)
		}
	}
	return "", fmt.Errorf("checkpoint %s: no tokenizer: looked for %s in %s; pass one with --tokenizer", model, strings.Join(names, " and "), dir)
}

// stopIDs merges the tokenizer's end-of-generation ids with the config's EOS.
func stopIDs(c llama.Config, t tokenizer.Tokenizer) []int {
	ids := append([]int(nil), t.EOGs()...)
	ids = append(ids, c.EOSTokenID...)
	if e := t.EOS(); e >= 0 {
		ids = append(ids, e)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}
