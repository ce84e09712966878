package train

import (
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/bayling-go/bayling/internal/yaml"
)

// Config is a TRAIN.yaml file. Relative paths resolve against the file's
// folder. Zero values take the defaults in LoadConfig.
type Config struct {
	Model     string `json:"model"`     // GGUF or llama2.c .bin
	Tokenizer string `json:"tokenizer"` // optional tokenizer file
	// TokenizerGGUF is a GGUF whose tokenizer.* metadata the GGUF export
	// copies (default: the model's own, when the model is a GGUF).
	TokenizerGGUF string   `json:"tokenizer_gguf"`
	Template      string   `json:"template"`   // chat template (chat.Select name; "" = auto)
	Name          string   `json:"name"`       // general.name of the exports
	Data          []string `json:"data"`       // JSONL files or folders of them
	EvalEvery     int      `json:"eval_every"` // hold out every k-th record (default 10; -1: none)

	SeqLen    int `json:"seq_len"`
	BatchSize int `json:"batch_size"`
	GradAccum int `json:"grad_accum"`
	Steps     int `json:"steps"` // optimizer steps
	Shuffle   int `json:"shuffle_buffer"`

	LR          float64 `json:"lr"`
	MinLR       float64 `json:"min_lr"`
	Warmup      int     `json:"warmup"`
	WeightDecay float64 `json:"weight_decay"`
	Beta1       float64 `json:"beta1"`
	Beta2       float64 `json:"beta2"`
	AdamEps     float64 `json:"adam_eps"`
	Clip        float64 `json:"clip"` // max global gradient norm (0: none)

	LoRA *LoRAConfig `json:"lora"` // nil: full fine-tuning

	Seed         uint64   `json:"seed"`
	Threads      int      `json:"threads"`
	EvalInterval int      `json:"eval_interval"` // optimizer steps between evals (0: only at the end)
	SaveInterval int      `json:"save_interval"` // steps between checkpoints (default 50)
	Export       []string `json:"export"`        // gguf, hf (merged weights), peft (LoRA only)
}

// LoadConfig reads and validates a TRAIN.yaml.
func LoadConfig(path string) (*Config, error) {
	c := &Config{}
	if err := yaml.DecodeFile(path, c); err != nil {
		return nil, fmt.Errorf("train config: %w", err)
	}
	dir := filepath.Dir(path)
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	c.Model, c.Tokenizer, c.TokenizerGGUF = abs(c.Model), abs(c.Tokenizer), abs(c.TokenizerGGUF)
	for i := range c.Data {
		c.Data[i] = abs(c.Data[i])
	}
	c.defaults()
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("train config %s: %w", path, err)
	}
	return c, nil
}

func (c *Config) defaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	deff := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.EvalEvery, 10)
	def(&c.SeqLen, 256)
	def(&c.BatchSize, 8)
	def(&c.GradAccum, 1)
	def(&c.Shuffle, 256)
	def(&c.SaveInterval, 50)
	def(&c.Threads, runtime.GOMAXPROCS(0))
	deff(&c.LR, 1e-4)
	deff(&c.Beta1, 0.9)
	deff(&c.Beta2, 0.999)
	deff(&c.AdamEps, 1e-8)
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Name == "" {
		c.Name = "bayling-finetune"
	}
	if len(c.Export) == 0 {
		c.Export = []string{"gguf"}
	}
}

func (c *Config) validate() error {
	switch {
	case c.Model == "":
		return fmt.Errorf("model: required")
	case len(c.Data) == 0:
		return fmt.Errorf("data: at least one JSONL file or folder required")
	case c.Steps <= 0:
		return fmt.Errorf("steps: %d must be positive", c.Steps)
	case c.SeqLen < 2 || c.BatchSize < 1 || c.GradAccum < 1:
		return fmt.Errorf("seq_len %d, batch_size %d, grad_accum %d: want seq_len >= 2 and positive sizes", c.SeqLen, c.BatchSize, c.GradAccum)
	case c.Warmup < 0 || c.Warmup > c.Steps:
		return fmt.Errorf("warmup: %d outside 0..steps (%d)", c.Warmup, c.Steps)
	case !(c.LR > 0) || c.MinLR < 0 || c.MinLR > c.LR:
		return fmt.Errorf("lr %v, min_lr %v: want 0 <= min_lr <= lr, lr > 0", c.LR, c.MinLR)
	case c.Beta1 < 0 || c.Beta1 >= 1 || c.Beta2 < 0 || c.Beta2 >= 1:
		return fmt.Errorf("beta1 %v, beta2 %v must be in [0, 1)", c.Beta1, c.Beta2)
	case c.WeightDecay < 0 || c.Clip < 0:
		return fmt.Errorf("weight_decay %v and clip %v must not be negative", c.WeightDecay, c.Clip)
	case c.Threads < 1 || c.SaveInterval < 1 || c.EvalInterval < 0 || c.Shuffle < 1:
		return fmt.Errorf("threads %d, save_interval %d, eval_interval %d, shuffle_buffer %d out of range", c.Threads, c.SaveInterval, c.EvalInterval, c.Shuffle)
	}
	for _, e := range c.Export {
		switch e {
		case "gguf", "hf":
		case "peft":
			if c.LoRA == nil {
				return fmt.Errorf("export: peft needs a lora section")
			}
		default:
			return fmt.Errorf("export: unknown format %q (want gguf, hf, peft)", e)
		}
	}
	return nil
}
