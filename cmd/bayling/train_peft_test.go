package main

import (
	"fmt"
	"math"
	"testing"

	"github.com/bayling-go/bayling/internal/gguf"
	"github.com/bayling-go/bayling/internal/safetensors"
	"github.com/bayling-go/bayling/internal/tensor"
)

// checkPEFTTensors checks names and shapes against PEFT's layout for
// stories260K (dim 64, hidden 172, 8 heads, 4 KV heads of 8, r 4).
func checkPEFTTensors(t *testing.T, path string) {
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]int{"self_attn.q_proj": 64, "self_attn.k_proj": 32, "self_attn.v_proj": 32, "mlp.down_proj": 64}
	in := map[string]int{"self_attn.q_proj": 64, "self_attn.k_proj": 64, "self_attn.v_proj": 64, "mlp.down_proj": 172}
	n := 0
	for l := 0; l < 5; l++ {
		for mod := range out {
			pre := fmt.Sprintf("base_model.model.model.layers.%d.%s", l, mod)
			for name, shape := range map[string][2]int{pre + ".lora_A.weight": {4, in[mod]}, pre + ".lora_B.weight": {out[mod], 4}} {
				info, ok := f.Info(name)
				if !ok {
					t.Errorf("missing %s", name)
					continue
				}
				if len(info.Shape) != 2 || info.Shape[0] != shape[0] || info.Shape[1] != shape[1] {
					t.Errorf("%s: shape %v, want %v", name, info.Shape, shape)
				}
				n++
			}
		}
	}
	if len(f.Names()) != n {
		t.Errorf("%d tensors, want %d", len(f.Names()), n)
	}
}

func compareGGUFTensors(t *testing.T, a, b string) {
	fa, err := gguf.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	defer fa.Close()
	fb, err := gguf.Open(b)
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Close()
	// llama.cpp's conversion of stories260K stores output.weight although
	// the embeddings are tied; the trainer's export (from the .bin) does not.
	if len(fa.Tensors) < len(fb.Tensors)-1 || len(fa.Tensors) > len(fb.Tensors) {
		t.Fatalf("%d vs %d tensors", len(fa.Tensors), len(fb.Tensors))
	}
	for _, ti := range fa.Tensors {
		ta, err := fa.Tensor(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		tb, err := fb.Tensor(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		va := make([]float32, ta.NumElements())
		vb := make([]float32, tb.NumElements())
		if len(va) != len(vb) {
			t.Fatalf("%s: %d vs %d elements", ti.Name, len(va), len(vb))
		}
		tensor.Dequantize(va, ta.Data, ta.Type)
		tensor.Dequantize(vb, tb.Data, tb.Type)
		var worst float64
		for i := range va {
			worst = max(worst, math.Abs(float64(va[i]-vb[i])))
		}
		if worst > 1e-6 {
			t.Errorf("%s: merged weights differ by up to %g", ti.Name, worst)
		}
	}
}
