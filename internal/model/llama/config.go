// Package llama is the Llama-family transformer: its hyperparameters, its
// weights and the forward pass over a batch of tokens with a KV cache.
//
// The forward pass follows llama2.c's run.c and ollama's Go llama model.
// Q and K are rotated by RoPE in the GGUF / llama2.c convention, adjacent
// pairs (x[2i], x[2i+1]); loaders of Hugging Face checkpoints permute the
// rows of Wq and Wk into that convention, as llama.cpp's converter does.
package llama

import (
	"encoding/json"
	"fmt"
	"math"
)

// Config mirrors the fields of a Hugging Face Llama config.json that the
// forward pass needs. Zero values of optional fields mean "the default".
type Config struct {
	HiddenSize            int          `json:"hidden_size"`
	IntermediateSize      int          `json:"intermediate_size"`
	NumHiddenLayers       int          `json:"num_hidden_layers"`
	NumAttentionHeads     int          `json:"num_attention_heads"`
	NumKeyValueHeads      int          `json:"num_key_value_heads"` // 0 = NumAttentionHeads
	HeadDim               int          `json:"head_dim,omitempty"`  // 0 = HiddenSize / NumAttentionHeads
	RMSNormEps            float64      `json:"rms_norm_eps"`
	RopeTheta             float64      `json:"rope_theta"` // 0 = 10000
	RopeScaling           *RopeScaling `json:"rope_scaling,omitempty"`
	VocabSize             int          `json:"vocab_size"`
	MaxPositionEmbeddings int          `json:"max_position_embeddings"`
	TieWordEmbeddings     bool         `json:"tie_word_embeddings"`
	BOSTokenID            int          `json:"bos_token_id"`
	EOSTokenID            TokenIDs     `json:"eos_token_id"`
}

// RopeScaling is config.json's rope_scaling object. Type "llama3" is the
// Llama-3.1 frequency adjustment; "linear" divides positions by Factor.
type RopeScaling struct {
	RopeType                      string  `json:"rope_type,omitempty"`
	Type                          string  `json:"type,omitempty"` // older spelling of rope_type
	Factor                        float64 `json:"factor"`
	LowFreqFactor                 float64 `json:"low_freq_factor,omitempty"`
	HighFreqFactor                float64 `json:"high_freq_factor,omitempty"`
	OriginalMaxPositionEmbeddings int     `json:"original_max_position_embeddings,omitempty"`
}

// Kind is the scaling type, whichever of the two spellings the file used.
func (r *RopeScaling) Kind() string {
	if r == nil {
		return ""
	}
	if r.RopeType != "" {
		return r.RopeType
	}
	return r.Type
}

// TokenIDs is a token id or a list of them; config.json uses both forms
// for eos_token_id.
type TokenIDs []int

// UnmarshalJSON accepts null, a number or an array of numbers.
func (t *TokenIDs) UnmarshalJSON(b []byte) error {
	var one *int
	if err := json.Unmarshal(b, &one); err == nil {
		*t = nil
		if one != nil {
			*t = TokenIDs{*one}
		}
		return nil
	}
	var many []int
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("token ids: want a number or a list of numbers, got %s", b)
	}
	*t = many
	return nil
}

// KVHeads is the number of key/value heads (grouped-query attention).
func (c *Config) KVHeads() int {
	if c.NumKeyValueHeads == 0 {
		return c.NumAttentionHeads
	}
	return c.NumKeyValueHeads
}

// HeadSize is the dimension of one attention head.
func (c *Config) HeadSize() int {
	if c.HeadDim != 0 {
		return c.HeadDim
	}
	if c.NumAttentionHeads == 0 {
		return 0
	}
	return c.HiddenSize / c.NumAttentionHeads
}

// QDim is the width of the query projection, KVDim of key and value.
func (c *Config) QDim() int  { return c.NumAttentionHeads * c.HeadSize() }
func (c *Config) KVDim() int { return c.KVHeads() * c.HeadSize() }

// Theta is the RoPE base frequency.
func (c *Config) Theta() float64 {
	if c.RopeTheta == 0 {
		return 10000
	}
	return c.RopeTheta
}

// Validate reports the first inconsistency in c, naming the field.
func (c *Config) Validate() error {
	pos := []struct {
		name string
		v    int
	}{
		{"hidden_size", c.HiddenSize},
		{"intermediate_size", c.IntermediateSize},
		{"num_hidden_layers", c.NumHiddenLayers},
		{"num_attention_heads", c.NumAttentionHeads},
		{"vocab_size", c.VocabSize},
		{"max_position_embeddings", c.MaxPositionEmbeddings},
	}
	for _, p := range pos {
		if p.v <= 0 {
			return fmt.Errorf("config: %s %d must be positive", p.name, p.v)
		}
	}
	if c.NumKeyValueHeads < 0 {
		return fmt.Errorf("config: num_key_value_heads %d must not be negative", c.NumKeyValueHeads)
	}
	if c.HeadDim < 0 {
		return fmt.Errorf("config: head_dim %d must not be negative", c.HeadDim)
	}
	if c.HeadDim == 0 && c.HiddenSize%c.NumAttentionHeads != 0 {
		return fmt.Errorf("config: num_attention_heads %d does not divide hidden_size %d", c.NumAttentionHeads, c.HiddenSize)
	}
	if c.NumAttentionHeads%c.KVHeads() != 0 {
		return fmt.Errorf("config: num_key_value_heads %d does not divide num_attention_heads %d", c.KVHeads(), c.NumAttentionHeads)
	}
	if c.HeadSize()%2 != 0 {
		return fmt.Errorf("config: head size %d must be even for RoPE", c.HeadSize())
	}
	if !(c.RMSNormEps >= 0) || math.IsInf(c.RMSNormEps, 0) {
		return fmt.Errorf("config: rms_norm_eps %v must be a finite non-negative number", c.RMSNormEps)
	}
	if !(c.RopeTheta >= 0) || math.IsInf(c.RopeTheta, 0) {
		return fmt.Errorf("config: rope_theta %v must be a finite non-negative number", c.RopeTheta)
	}
	if c.BOSTokenID < 0 || c.BOSTokenID >= c.VocabSize {
		return fmt.Errorf("config: bos_token_id %d outside vocabulary of %d", c.BOSTokenID, c.VocabSize)
	}
	for _, id := range c.EOSTokenID {
		if id < 0 || id >= c.VocabSize {
			return fmt.Errorf("config: eos_token_id %d outside vocabulary of %d", id, c.VocabSize)
		}
	}
	return c.validateRopeScaling()
}

func (c *Config) validateRopeScaling() error {
	r := c.RopeScaling
	switch r.Kind() {
	case "", "default":
		return nil
	case "linear":
		if !(r.Factor > 0) || math.IsInf(r.Factor, 0) {
			return fmt.Errorf("config: rope_scaling.factor %v must be positive", r.Factor)
		}
		return nil
	case "llama3":
		if !(r.Factor > 0) || math.IsInf(r.Factor, 0) {
			return fmt.Errorf("config: rope_scaling.factor %v must be positive", r.Factor)
		}
		if !(r.LowFreqFactor > 0) || !(r.HighFreqFactor > r.LowFreqFactor) {
			return fmt.Errorf("config: rope_scaling low_freq_factor %v and high_freq_factor %v: want 0 < low < high", r.LowFreqFactor, r.HighFreqFactor)
		}
		if r.OriginalMaxPositionEmbeddings <= 0 {
			return fmt.Errorf("config: rope_scaling.original_max_position_embeddings %d must be positive", r.OriginalMaxPositionEmbeddings)
		}
		return nil
	default:
		return fmt.Errorf("config: rope_scaling type %q not supported (want llama3 or linear)", r.Kind())
	}
}

// ParseConfig decodes a config.json and validates it. Missing eps and theta
// take the Llama defaults (1e-6 as in transformers' LlamaConfig, 10000).
func ParseConfig(data []byte) (Config, error) {
	c := Config{RMSNormEps: 1e-6, RopeTheta: 10000, BOSTokenID: 1, EOSTokenID: TokenIDs{2}}
	if err := json.Unmarshal(data, &c); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}
