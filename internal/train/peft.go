package train

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/bayling-go/bayling/internal/safetensors"
	"github.com/bayling-go/bayling/internal/tensor"
)

// PEFTConfig is adapter_config.json as PEFT's LoraConfig writes it (the
// fields PEFT needs to load an adapter for a causal LM).
type PEFTConfig struct {
	PeftType          string   `json:"peft_type"`
	TaskType          string   `json:"task_type"`
	R                 int      `json:"r"`
	LoraAlpha         float64  `json:"lora_alpha"`
	LoraDropout       float64  `json:"lora_dropout"`
	TargetModules     []string `json:"target_modules"`
	Bias              string   `json:"bias"`
	BaseModel         string   `json:"base_model_name_or_path"`
	FanInFanOut       bool     `json:"fan_in_fan_out"`
	InferenceMode     bool     `json:"inference_mode"`
	InitLoraWeights   bool     `json:"init_lora_weights"`
	UseRSLoRA         bool     `json:"use_rslora"`
	ModulesToSave     []string `json:"modules_to_save"`
	LayersToTransform []int    `json:"layers_to_transform"`
}

// Adapter file names in a PEFT directory.
const (
	PEFTConfigName  = "adapter_config.json"
	PEFTWeightsName = "adapter_model.safetensors"
)

// isQK reports whether a's base is a Q or K projection, whose output rows
// are permuted between our layout and HF's.
func (lo *LoRA) heads(p *Params, a *Adapter) int {
	l := p.Layers[a.Layer]
	switch a.Base {
	case l.Wq:
		return p.Cfg.NumAttentionHeads
	case l.Wk:
		return p.Cfg.KVHeads()
	}
	return 0
}

// SavePEFT writes dir/adapter_config.json and dir/adapter_model.safetensors
// (F32; B's rows in HF order for q_proj/k_proj).
func (lo *LoRA) SavePEFT(dir string, p *Params, baseModel string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	cfg := PEFTConfig{
		PeftType: "LORA", TaskType: "CAUSAL_LM", R: lo.Cfg.Rank, LoraAlpha: lo.Cfg.Alpha, LoraDropout: lo.Cfg.Dropout,
		TargetModules: lo.Cfg.Targets, Bias: "none", BaseModel: baseModel, InferenceMode: true, InitLoraWeights: true,
	}
	if err := writeJSON(filepath.Join(dir, PEFTConfigName), cfg); err != nil {
		return err
	}
	var entries []safetensors.Entry
	var vals [][]float32
	for _, a := range lo.Adapters {
		b := a.B.W
		if h := lo.heads(p, a); h > 0 {
			b = unpermuteRows(b, h, p.Cfg.HeadSize(), a.B.Cols)
		}
		entries = append(entries,
			safetensors.Entry{Name: a.A.Name, Type: tensor.F32, Shape: []int{a.A.Rows, a.A.Cols}},
			safetensors.Entry{Name: a.B.Name, Type: tensor.F32, Shape: []int{a.B.Rows, a.B.Cols}})
		vals = append(vals, a.A.W, b)
	}
	return safetensors.WriteFile(filepath.Join(dir, PEFTWeightsName), map[string]string{"format": "pt"}, entries,
		func(i int, out io.Writer) error { return writeF32(out, vals[i]) })
}

// LoadPEFT reads a PEFT LoRA adapter directory for the model p, checking
// the config fields and every tensor's name and shape.
func LoadPEFT(dir string, p *Params) (*LoRA, PEFTConfig, error) {
	var cfg PEFTConfig
	path := filepath.Join(dir, PEFTConfigName)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, cfg, fmt.Errorf("peft: %w", err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, cfg, fmt.Errorf("peft %s: %w", path, err)
	}
	switch {
	case cfg.PeftType != "LORA":
		return nil, cfg, fmt.Errorf("peft %s: peft_type %q, want LORA", path, cfg.PeftType)
	case cfg.Bias != "none" && cfg.Bias != "":
		return nil, cfg, fmt.Errorf("peft %s: bias %q not supported (want none)", path, cfg.Bias)
	case cfg.FanInFanOut:
		return nil, cfg, fmt.Errorf("peft %s: fan_in_fan_out adapters not supported", path)
	case cfg.UseRSLoRA:
		return nil, cfg, fmt.Errorf("peft %s: use_rslora not supported", path)
	}
	lo, err := NewLoRA(p, LoRAConfig{Rank: cfg.R, Alpha: cfg.LoraAlpha, Dropout: cfg.LoraDropout, Targets: cfg.TargetModules}, 0)
	if err != nil {
		return nil, cfg, fmt.Errorf("peft %s: %w", path, err)
	}
	wpath := filepath.Join(dir, PEFTWeightsName)
	f, err := safetensors.Open(wpath)
	if err != nil {
		return nil, cfg, err
	}
	defer f.Close()
	for _, a := range lo.Adapters {
		for _, t := range []*Tensor{a.A, a.B} {
			tt, err := f.Tensor(t.Name)
			if err != nil {
				return nil, cfg, fmt.Errorf("peft %s: %w", wpath, err)
			}
			if len(tt.Shape) != 2 || tt.Shape[0] != t.Rows || tt.Shape[1] != t.Cols {
				return nil, cfg, fmt.Errorf("peft %s: tensor %q: shape %v, want [%d %d]", wpath, t.Name, tt.Shape, t.Rows, t.Cols)
			}
			if err := tensor.Dequantize(t.W, tt.Data, tt.Type); err != nil {
				return nil, cfg, fmt.Errorf("peft %s: tensor %q: %w", wpath, t.Name, err)
			}
		}
		if h := lo.heads(p, a); h > 0 {
			a.B.W = permuteRows(a.B.W, h, p.Cfg.HeadSize(), a.B.Cols)
		}
	}
	return lo, cfg, nil
}
