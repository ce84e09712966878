package llama_test

import (
	"math"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/kernels"
	"github.com/bayling-go/bayling/internal/model/llama"
)

func TestConfigValidate(t *testing.T) {
	good := llama.Config{HiddenSize: 64, IntermediateSize: 172, NumHiddenLayers: 5, NumAttentionHeads: 8,
		NumKeyValueHeads: 4, RMSNormEps: 1e-5, VocabSize: 512, MaxPositionEmbeddings: 512, BOSTokenID: 1, EOSTokenID: llama.TokenIDs{2}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		edit func(*llama.Config)
		want string
	}{
		{func(c *llama.Config) { c.NumAttentionHeads = 7 }, "config: num_attention_heads 7 does not divide hidden_size 64"},
		{func(c *llama.Config) { c.NumKeyValueHeads = 3 }, "config: num_key_value_heads 3 does not divide num_attention_heads 8"},
		{func(c *llama.Config) { c.HiddenSize = 0 }, "config: hidden_size 0 must be positive"},
		{func(c *llama.Config) { c.VocabSize = -1 }, "config: vocab_size -1 must be positive"},
		{func(c *llama.Config) { c.NumAttentionHeads, c.NumKeyValueHeads = 64, 0 }, "config: head size 1 must be even for RoPE"},
		{func(c *llama.Config) { c.RMSNormEps = math.NaN() }, "config: rms_norm_eps NaN"},
		{func(c *llama.Config) { c.EOSTokenID = llama.TokenIDs{2, 512} }, "config: eos_token_id 512 outside vocabulary of 512"},
		{func(c *llama.Config) { c.RopeScaling = &llama.RopeScaling{RopeType: "yarn", Factor: 4} }, `config: rope_scaling type "yarn" not supported`},
		{func(c *llama.Config) { c.RopeScaling = &llama.RopeScaling{RopeType: "llama3", Factor: 8} }, "config: rope_scaling low_freq_factor 0"},
	}
	for _, c := range cases {
		cfg := good
		c.edit(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("got %v, want prefix %q", err, c.want)
		}
	}
}

func TestParseConfigJSON(t *testing.T) {
	// Llama-3.1-8B's config.json fields (eos as a list, llama3 rope scaling).
	js := `{"architectures":["LlamaForCausalLM"],"hidden_size":4096,"intermediate_size":14336,
	"num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,"rms_norm_eps":1e-05,
	"rope_theta":500000.0,"rope_scaling":{"factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,
	"original_max_position_embeddings":8192,"rope_type":"llama3"},"vocab_size":128256,
	"max_position_embeddings":131072,"tie_word_embeddings":false,"bos_token_id":128000,
	"eos_token_id":[128001,128008,128009]}`
	c, err := llama.ParseConfig([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	if c.HeadSize() != 128 || c.KVDim() != 1024 || c.RopeScaling.Kind() != "llama3" || len(c.EOSTokenID) != 3 || c.EOSTokenID[2] != 128009 {
		t.Fatalf("parsed %+v", c)
	}
	c, err = llama.ParseConfig([]byte(`{"hidden_size":64,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":8,"vocab_size":10,"max_position_embeddings":4,"eos_token_id":2}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.EOSTokenID) != 1 || c.EOSTokenID[0] != 2 || c.KVHeads() != 8 || c.RMSNormEps != 1e-6 || c.Theta() != 10000 {
		t.Fatalf("parsed %+v", c)
	}
	if _, err := llama.ParseConfig([]byte(`{"hidden_size":64,"eos_token_id":"x"}`)); err == nil {
		t.Fatal("bad eos_token_id accepted")
	}
}

func TestWeightShapeErrors(t *testing.T) {
	m := loadStories(t)
	cfg := m.Config()
	w := *m.Weights()
	w.Layers = append([]llama.Layer(nil), w.Layers...)
	w.Layers[3].Wk.Rows = 64
	_, err := llama.New(cfg, &w)
	if err == nil || !strings.Contains(err.Error(), "blk.3.attn_k: shape 64x64, want 32x64") {
		t.Fatalf("got %v", err)
	}
	w.Layers[3] = m.Weights().Layers[3]
	w.OutputNorm = w.OutputNorm[:10]
	if _, err := llama.New(cfg, &w); err == nil || !strings.Contains(err.Error(), "output_norm: 10 values, want 64") {
		t.Fatalf("got %v", err)
	}
}

func TestForwardErrors(t *testing.T) {
	m := loadStories(t)
	s, err := m.NewState(8)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Forward([]int{1, 2, 3, 4, 5}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Forward([]int{1, 2, 3, 4})
	if err == nil || err.Error() != "llama: position 9 exceeds context length 8" {
		t.Fatalf("got %v", err)
	}
	if s.Pos() != 5 {
		t.Fatalf("failed forward moved the state to %d", s.Pos())
	}
	_, err = s.Forward([]int{1, 512})
	if err == nil || err.Error() != "llama: token 512 at index 1 outside vocabulary of 512" {
		t.Fatalf("got %v", err)
	}
	if _, err := s.Forward(nil); err == nil {
		t.Fatal("empty forward accepted")
	}
	if _, err := m.NewState(513); err == nil || err.Error() != "llama: context length 513 outside 1..512" {
		t.Fatalf("got %v", err)
	}
	if err := s.Truncate(6); err == nil {
		t.Fatal("truncate past the end accepted")
	}
	full, _ := m.NewState(0)
	for p := 0; p < 512; p++ {
		if _, err := full.Forward([]int{1}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := full.Forward([]int{1}); err == nil || err.Error() != "llama: position 513 exceeds context length 512" {
		t.Fatalf("got %v", err)
	}
}

// Truncating and re-running a continuation must give the same logits as a
// fresh state: the cache rows past the cut are overwritten, never read.
func TestTruncateReuse(t *testing.T) {
	m := loadStories(t)
	prompt := []int{1, 403, 407, 261, 378}
	a, _ := m.NewState(0)
	a.Forward(prompt)
	if _, err := a.Forward([]int{100, 200, 300}); err != nil {
		t.Fatal(err)
	}
	if err := a.Truncate(len(prompt)); err != nil {
		t.Fatal(err)
	}
	got, err := a.Forward([]int{432, 383})
	if err != nil {
		t.Fatal(err)
	}
	// The same calls on a fresh state (same batch shapes, so the same
	// rounding) must give identical logits.
	b, _ := m.NewState(0)
	b.Forward(prompt)
	want, _ := b.Forward([]int{432, 383})
	if d := maxDiff(got, want); d != 0 {
		t.Fatalf("max diff %g after truncate", d)
	}
}

func TestPoolMatchesSerial(t *testing.T) {
	m := loadStories(t)
	tokens := []int{1, 403, 407, 261, 378, 432, 383, 286, 261, 376}
	s, _ := m.NewState(0)
	want, _ := s.ForwardAll(tokens, nil)
	p := kernels.NewPool(2)
	defer p.Close()
	m.SetPool(p)
	defer m.SetPool(nil)
	s2, _ := m.NewState(0)
	got, _ := s2.ForwardAll(tokens, nil)
	if d := maxDiff(got, want); d > 1e-5 {
		t.Fatalf("pool vs serial: max diff %g", d)
	}
}

func TestDecodeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	m := loadStories(t)
	s, _ := m.NewState(0)
	if _, err := s.Forward([]int{1, 403, 407}); err != nil {
		t.Fatal(err)
	}
	tok := []int{261}
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := s.Forward(tok); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per decode step", allocs)
	}
}

func BenchmarkDecodeStories260K(b *testing.B) {
	m := loadStories(b)
	s, _ := m.NewState(0)
	tok := []int{1}
	b.ReportAllocs()
	for b.Loop() {
		if s.Pos() == s.Context() {
			s.Reset()
		}
		if _, err := s.Forward(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPrefillStories260K(b *testing.B) {
	m := loadStories(b)
	s, _ := m.NewState(0)
	tokens := make([]int, 128)
	for i := range tokens {
		tokens[i] = 3 + i
	}
	b.ReportAllocs()
	for b.Loop() {
		s.Reset()
		if _, err := s.Forward(tokens); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(tokens)*b.N)/b.Elapsed().Seconds(), "tok/s")
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"hidden_size":4096,"intermediate_size":14336,"num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,"rms_norm_eps":1e-05,"rope_theta":500000.0,"rope_scaling":{"factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192,"rope_type":"llama3"},"vocab_size":128256,"max_position_embeddings":131072,"bos_token_id":128000,"eos_token_id":[128001,128008,128009]}`))
	f.Add([]byte(`{"hidden_size":64,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":8,"vocab_size":10,"max_position_embeddings":4,"eos_token_id":2}`))
	f.Add([]byte(`{"hidden_size":64,"head_dim":16,"num_attention_heads":2,"rope_scaling":{"type":"linear","factor":2}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := llama.ParseConfig(data)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted config fails Validate: %v", err)
		}
		if c.HeadSize() <= 0 || c.HeadSize()%2 != 0 || c.NumAttentionHeads%c.KVHeads() != 0 {
			t.Fatalf("accepted inconsistent config %+v", c)
		}
	})
}
