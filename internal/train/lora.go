package train

import (
	"fmt"
	"slices"
	"strings"
)

// LoRAConfig selects low-rank adapters (PEFT's LoraConfig fields).
type LoRAConfig struct {
	Rank    int      `json:"r"`
	Alpha   float64  `json:"alpha"`
	Dropout float64  `json:"dropout"`
	Targets []string `json:"target_modules"` // HF names: q_proj k_proj v_proj o_proj gate_proj up_proj down_proj
}

// hfModule maps our GGUF tensor suffixes to HF module names.
var hfModule = map[string]string{
	"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
	"ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
}

// Adapter is one low-rank update W + scale·B·A of a frozen base matrix.
type Adapter struct {
	Base   *Tensor
	Layer  int
	Module string  // HF module path, e.g. "self_attn.q_proj"
	A, B   *Tensor // A: r×in, B: out×r
	Scale  float32 // alpha / r

	xd, xa, mask []float32 // dropped input, xd·Aᵀ, dropout multipliers
}

// LoRA is the set of adapters of one model. Only their A and B train.
type LoRA struct {
	Cfg      LoRAConfig
	Adapters []*Adapter
	byBase   map[*Tensor]*Adapter
	rng      RNG
}

// NewLoRA attaches adapters to p's target matrices. A starts uniform in
// ±1/sqrt(in) from seed (PEFT uses Kaiming-uniform), B at zero, so the
// adapted model starts equal to the base.
func NewLoRA(p *Params, cfg LoRAConfig, seed uint64) (*LoRA, error) {
	if cfg.Rank <= 0 {
		return nil, fmt.Errorf("train: lora r %d must be positive", cfg.Rank)
	}
	if cfg.Dropout < 0 || cfg.Dropout >= 1 {
		return nil, fmt.Errorf("train: lora dropout %v must be in [0, 1)", cfg.Dropout)
	}
	if cfg.Alpha == 0 {
		cfg.Alpha = float64(cfg.Rank)
	}
	if len(cfg.Targets) == 0 {
		cfg.Targets = []string{"q_proj", "v_proj"}
	}
	known := map[string]bool{}
	for _, m := range hfModule {
		known[m[strings.LastIndex(m, ".")+1:]] = true
	}
	for _, t := range cfg.Targets {
		if !known[t] {
			return nil, fmt.Errorf("train: lora target module %q unknown (want q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)", t)
		}
	}
	lo := &LoRA{Cfg: cfg, byBase: map[*Tensor]*Adapter{}}
	r := NewRNG(seed)
	for i, l := range p.Layers {
		for _, base := range []*Tensor{l.Wq, l.Wk, l.Wv, l.Wo, l.Gate, l.Up, l.Down} {
			suffix := strings.TrimSuffix(base.Name[strings.Index(base.Name[4:], ".")+5:], ".weight")
			mod := hfModule[suffix]
			if !slices.Contains(cfg.Targets, mod[strings.LastIndex(mod, ".")+1:]) {
				continue
			}
			ad := &Adapter{Base: base, Layer: i, Module: mod, Scale: float32(cfg.Alpha / float64(cfg.Rank))}
			pre := fmt.Sprintf("base_model.model.model.layers.%d.%s", i, mod)
			ad.A = newTensor(pre+".lora_A.weight", cfg.Rank, base.Cols, false)
			ad.B = newTensor(pre+".lora_B.weight", base.Rows, cfg.Rank, false)
			bound := float32(1 / sqrtf(float64(base.Cols)))
			for j := range ad.A.W {
				ad.A.W[j] = bound * r.Uniform()
			}
			lo.Adapters = append(lo.Adapters, ad)
			lo.byBase[base] = ad
		}
	}
	return lo, nil
}

// Tensors lists the trainable A and B matrices.
func (lo *LoRA) Tensors() []*Tensor {
	var ts []*Tensor
	for _, a := range lo.Adapters {
		ts = append(ts, a.A, a.B)
	}
	return ts
}

// Merge adds scale·B·A into every base matrix (what `bayling lora merge` does).
func (lo *LoRA) Merge() {
	for _, a := range lo.Adapters {
		r := a.A.Rows
		for o := 0; o < a.Base.Rows; o++ {
			row := a.Base.W[o*a.Base.Cols : (o+1)*a.Base.Cols]
			for k := 0; k < r; k++ {
				b := a.Scale * a.B.W[o*r+k]
				if b == 0 {
					continue
				}
				for c, av := range a.A.W[k*a.Base.Cols : (k+1)*a.Base.Cols] {
					row[c] += b * av
				}
			}
		}
	}
}

// Reseed sets the dropout stream; the trainer derives it from the run's
// seed and the micro-step so a resumed run draws the same masks.
func (lo *LoRA) Reseed(s uint64) { lo.rng = RNG{State: s} }
