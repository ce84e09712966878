package train

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/bayling-go/bayling/internal/atomicfile"
	"github.com/bayling-go/bayling/internal/checkpoint"
)

// ExportHF writes a Hugging Face checkpoint of p to dir (float32
// model.safetensors, config.json, generation_config.json) through
// checkpoint.SaveHF, which renames tensors and undoes the Q/K row
// permutation.
func ExportHF(dir string, p *Params) error {
	byName := make(map[string]*Tensor, len(p.List))
	for _, t := range p.List {
		byName[t.Name] = t
	}
	return checkpoint.SaveHF(dir, p.Cfg, checkpoint.HFWriteOptions{}, func(name string) ([]float32, error) {
		t, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("train: no tensor %q to export", name)
		}
		return t.W, nil
	})
}

// unpermuteRows converts rows of a Q or K projection (heads × hs rows) from
// our adjacent-pair order to HF's rotate-half order.
func unpermuteRows(w []float32, heads, hs, cols int) []float32 {
	out := make([]float32, len(w))
	checkpoint.UnpermuteF32(out, w, heads, hs, cols)
	return out
}

// permuteRows is the inverse of unpermuteRows (llama.cpp's permute).
func permuteRows(w []float32, heads, hs, cols int) []float32 {
	out := make([]float32, len(w))
	checkpoint.PermuteF32(out, w, heads, hs, cols)
	return out
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}
