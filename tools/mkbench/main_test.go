package main

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/bayling-go/bayling/internal/checkpoint"
)

func TestShapesValid(t *testing.T) {
	for name, c := range shapes {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Tied Llama-3.2-1B: 1.236B weights, as published.
	c := shapes["llama3.2-1b"]
	var n int
	for _, name := range checkpoint.TensorNames(&c) {
		s, err := checkpoint.TensorShape(&c, name)
		if err != nil {
			t.Fatal(err)
		}
		p := 1
		for _, d := range s {
			p *= d
		}
		n += p
	}
	if n != 1235814400 {
		t.Errorf("llama3.2-1b has %d weights, want 1235814400", n)
	}
}

func TestRandomTensorScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	v := randomTensor(rng, "blk.0.ffn_down.weight", []int{64, 1024}, false)
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if sd, want := math.Sqrt(ss/float64(len(v))), 1/math.Sqrt(1024); math.Abs(sd-want) > 0.02*want {
		t.Fatalf("std %v, want %v", sd, want)
	}
	for _, x := range randomTensor(rng, "blk.0.attn_norm.weight", []int{16}, false) {
		if x != 1 {
			t.Fatalf("norm weight %v, want 1", x)
		}
	}
}

func TestCopyTokenizer(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	for _, n := range []string{"tokenizer.json", "tokenizer_config.json"} {
		if err := os.WriteFile(filepath.Join(src, n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := copyTokenizer(dst, src); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dst, "tokenizer_config.json"))
	if err != nil || string(b) != "tokenizer_config.json" {
		t.Fatalf("%q, %v", b, err)
	}
	if err := copyTokenizer(dst, filepath.Join(src, "missing.model")); err == nil {
		t.Fatal("missing tokenizer accepted")
	}
	if err := run("gpt-5", dst, src, 1); err == nil {
		t.Fatal("unknown shape accepted")
	}
}
