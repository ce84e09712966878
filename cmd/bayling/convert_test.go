package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/checkpoint"
	"github.com/bayling-go/bayling/internal/gguf"
	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/tensor"
	"github.com/bayling-go/bayling/internal/testenv"
)

// storiesHF writes stories260K as a Hugging Face directory (SaveHF puts
// Q/K into HF order) with tok512.model as its tokenizer.model.
func storiesHF(t *testing.T) string {
	fx := testenv.SharedPath(t, "fixtures", "stories260K")
	cfg, w, err := checkpoint.LoadLlama2C(filepath.Join(fx, "stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.EOSTokenID = llama.TokenIDs{2}
	mats := map[string]llama.Mat{"token_embd.weight": w.TokenEmbd, "output.weight": w.Output}
	vecs := map[string][]float32{"output_norm.weight": w.OutputNorm}
	for i, l := range w.Layers {
		p := "blk." + strconv.Itoa(i) + "."
		for n, m := range map[string]llama.Mat{"attn_q": l.Wq, "attn_k": l.Wk, "attn_v": l.Wv, "attn_output": l.Wo, "ffn_gate": l.Gate, "ffn_down": l.Down, "ffn_up": l.Up} {
			mats[p+n+".weight"] = m
		}
		vecs[p+"attn_norm.weight"], vecs[p+"ffn_norm.weight"] = l.AttnNorm, l.FFNNorm
	}
	dir := t.TempDir()
	err = checkpoint.SaveHF(dir, cfg, checkpoint.HFWriteOptions{DType: tensor.BF16}, func(name string) ([]float32, error) {
		if v, ok := vecs[name]; ok {
			return v, nil
		}
		m := mats[name]
		v := make([]float32, m.Rows*m.Cols)
		return v, tensor.Dequantize(v, m.Data, m.Type)
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(fx, "tok512.model"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.model"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// bayling convert (bf16 HF dir -> f16 and q8_0 GGUF) then bayling generate
// on each reproduces llama-simple's greedy text for stories260K.
func TestConvertThenGenerate(t *testing.T) {
	dir := storiesHF(t)
	want, err := os.ReadFile(testenv.SharedPath(t, "golden", "stories260K_gguf_llama-simple_n59_once.stdout.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"f16", "q8_0"} {
		out := filepath.Join(t.TempDir(), "s.gguf")
		c := newConvertCmd()
		var stderr bytes.Buffer
		c.SetErr(&stderr)
		c.SetArgs([]string{dir, out, "--type", typ})
		if err := c.Execute(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(stderr.String(), "wrote "+out+" ("+typ+")") {
			t.Errorf("convert stderr %q", stderr.String())
		}
		got, err := runCLI(t, "-m", out, "-p", "Once upon a time", "-n", "59", "--temp", "0", "-t", "1")
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimRight(got, "\n") != strings.TrimRight(strings.TrimPrefix(string(want), "<s> "), "\n") {
			t.Errorf("%s: generate\n got %q\nwant %q", typ, got, want)
		}
	}
}

func TestQuantizeCommand(t *testing.T) {
	src := testenv.SharedPath(t, "fixtures", "gguf", "stories260K.llamacpp-c392e50.gguf")
	out := filepath.Join(t.TempDir(), "q.gguf")
	c := newQuantizeCmd()
	var stdout, stderr bytes.Buffer
	c.SetOut(&stdout)
	c.SetErr(&stderr)
	c.SetArgs([]string{src, out, "--type", "q4_k_m", "-v"})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	// 64-wide rows fall back from Q4_K to Q5_0 exactly as llama-quantize.
	if !strings.Contains(stdout.String(), "blk.0.attn_q.weight\tQ5_0") || !strings.Contains(stderr.String(), "29 Q5_0") {
		t.Fatalf("stdout %.200q stderr %q", stdout.String(), stderr.String())
	}
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ft, _ := f.Uint("general.file_type"); ft != 15 {
		t.Fatalf("general.file_type %d", ft)
	}
	c = newQuantizeCmd()
	c.SetErr(&stderr)
	c.SetArgs([]string{src, out, "--type", "q3_k"})
	if err := c.Execute(); err == nil || !strings.Contains(err.Error(), "q4_k_m") {
		t.Fatalf("unknown type: %v", err)
	}
}
