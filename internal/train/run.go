package train

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bayling-go/bayling/internal/chat"
	"github.com/bayling-go/bayling/internal/checkpoint"
	"github.com/bayling-go/bayling/internal/gguf"
	"github.com/bayling-go/bayling/internal/kernels"
	"github.com/bayling-go/bayling/internal/tokenizer"
)

// Progress is reported after every optimizer step.
type Progress struct {
	Step, Steps int
	Loss        float64
	LR          float64
	TokensPerS  float64
	EvalLoss    float64 // NaN when not evaluated at this step
}

// Output file names in the run folder.
const (
	CheckpointName = "checkpoint.safetensors"
	LogName        = "log.csv"
	PlotName       = "loss.png"
	GGUFName       = "model.gguf"
	HFDirName      = "hf"
	PEFTDirName    = "adapter"
)

// Run trains as cfg says, writing checkpoints, log.csv, loss.png and the
// exports to out. If out holds a checkpoint of the same configuration the
// run resumes from it and ends bit-identical to an uninterrupted run.
func Run(ctx context.Context, cfg *Config, out string, progress func(Progress)) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	r, err := newRunner(cfg, out)
	if err != nil {
		return err
	}
	defer r.pool.Close()
	return r.run(ctx, progress)
}

type runner struct {
	cfg     *Config
	out     string
	pool    *kernels.Pool
	p       *Params
	lora    *LoRA
	net     *Net
	opt     *AdamW
	train   []*Tensor
	stream  *Stream
	pad     int
	tokKVs  []gguf.KV
	evalB   []*Batch
	st      runState
	hasTmpl bool
}

// runState is what a checkpoint restores besides tensors.
type runState struct {
	Step    int      `json:"step"`    // optimizer steps done
	Batches int      `json:"batches"` // micro-batches consumed from the stream
	Threads int      `json:"threads"`
	Config  string   `json:"config"` // fingerprint of the training config
	Log     []logRow `json:"log"`
	// EvalBefore is the held-out loss of the model before training.
	EvalBefore *float64 `json:"eval_before,omitempty"`
}

func newRunner(cfg *Config, out string) (*runner, error) {
	tokPath := cfg.Tokenizer
	if tokPath == "" {
		tokPath = cfg.TokenizerGGUF // its vocabulary has token types, unlike tokenizer.bin
	}
	m, err := checkpoint.Load(cfg.Model, checkpoint.Options{Tokenizer: tokPath})
	if err != nil {
		return nil, err
	}
	defer m.Close()
	r := &runner{cfg: cfg, out: out}
	if r.p, err = FromWeights(m.Config, m.Weights); err != nil {
		return nil, fmt.Errorf("train: %s: %w", cfg.Model, err)
	}
	tmpl, err := chat.Select(cfg.Template, modelInfo(m))
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	r.pad = max(m.Tokenizer.EOS(), 0)
	tokSrc := cfg.TokenizerGGUF
	if tokSrc == "" && m.Format == checkpoint.FormatGGUF {
		tokSrc = cfg.Model
	}
	if tokSrc != "" {
		f, err := gguf.Open(tokSrc)
		if err != nil {
			return nil, err
		}
		r.tokKVs = TokenizerKVs(f)
		f.Close()
		if n := tokenCount(r.tokKVs); n != m.Config.VocabSize {
			return nil, fmt.Errorf("train: tokenizer_gguf %s has %d tokens, the model %d", tokSrc, n, m.Config.VocabSize)
		}
	}
	files, err := DataFiles(cfg.Data)
	if err != nil {
		return nil, err
	}
	evalEvery := cfg.EvalEvery
	if evalEvery < 0 {
		evalEvery = 0
	}
	enc, err := NewEncoder(tmpl, m.Tokenizer)
	if err != nil {
		return nil, err
	}
	r.stream = &Stream{Files: files, Enc: enc, EvalEvery: evalEvery}
	r.pool = kernels.NewPool(cfg.Threads)
	if r.net, err = NewNet(r.p, cfg.BatchSize, cfg.SeqLen, r.pool); err != nil {
		r.pool.Close()
		return nil, err
	}
	r.train = r.p.List
	if cfg.LoRA != nil {
		if r.lora, err = NewLoRA(r.p, *cfg.LoRA, cfg.Seed); err != nil {
			r.pool.Close()
			return nil, err
		}
		r.net.SetLoRA(r.lora)
		r.train = r.lora.Tensors()
	}
	r.opt = NewAdamW(r.train, cfg.Beta1, cfg.Beta2, cfg.AdamEps, cfg.WeightDecay)
	r.st = runState{Threads: cfg.Threads, Config: fingerprint(cfg)}
	return r, nil
}

func modelInfo(m *checkpoint.Model) chat.ModelInfo {
	info := chat.ModelInfo{Arch: "llama", HasToken: func(s string) bool { _, ok := m.Tokenizer.TokenID(s); return ok }}
	info.TokenizerKind = "spm"
	if _, ok := m.Tokenizer.(*tokenizer.BPE); ok {
		info.TokenizerKind = "bpe"
	}
	if m.Format == checkpoint.FormatGGUF {
		if f, err := gguf.Open(m.Path); err == nil {
			info.Name, _ = f.String("general.name")
			info.ChatTemplate, _ = f.String("tokenizer.chat_template")
			f.Close()
		}
	}
	if id := m.Tokenizer.BOS(); id >= 0 {
		info.BOS = m.Tokenizer.Piece(id)
	}
	if id := m.Tokenizer.EOS(); id >= 0 {
		info.EOS = m.Tokenizer.Piece(id)
	}
	return info
}

func (r *runner) run(ctx context.Context, progress func(Progress)) error {
	cfg := r.cfg
	resumed, err := r.resume()
	if err != nil {
		return err
	}
	if resumed {
		slog.Info("train: resuming", "checkpoint", filepath.Join(r.out, CheckpointName), "step", r.st.Step)
	}
	if err := r.loadEval(); err != nil {
		return err
	}
	if !resumed && len(r.evalB) > 0 {
		v, err := r.evalLoss()
		if err != nil {
			return err
		}
		r.st.EvalBefore = &v
		slog.Info("train: held-out loss before training", "eval_loss", v, "batches", len(r.evalB))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan *Batch, 2)
	errc := make(chan error, 1)
	go func() { errc <- r.produce(ctx, batches, r.st.Batches) }()
	sched := Schedule{LR: cfg.LR, MinLR: cfg.MinLR, Warmup: cfg.Warmup, Total: cfg.Steps}
	for r.st.Step < cfg.Steps {
		// Checked first: select picks at random when a batch is also ready.
		if err := ctx.Err(); err != nil {
			return err
		}
		micro := make([]*Batch, 0, cfg.GradAccum)
		for len(micro) < cfg.GradAccum {
			select {
			case b, ok := <-batches:
				if !ok {
					return <-errc
				}
				micro = append(micro, b)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		row, err := r.step(micro, sched)
		if err != nil {
			return err
		}
		r.st.Batches += len(micro)
		r.st.Step++
		last := r.st.Step == cfg.Steps
		if (cfg.EvalInterval > 0 && r.st.Step%cfg.EvalInterval == 0) || last {
			if row.EvalLoss, err = r.evalLoss(); err != nil {
				return err
			}
		}
		r.st.Log = append(r.st.Log, row)
		if progress != nil {
			progress(Progress{Step: r.st.Step, Steps: cfg.Steps, Loss: row.Loss, LR: row.LR, TokensPerS: row.TokensPerS, EvalLoss: row.EvalLoss})
		}
		if r.st.Step%cfg.SaveInterval == 0 || last {
			if err := r.save(); err != nil {
				return err
			}
		}
	}
	cancel()
	if err := <-errc; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	if err := r.writeLog(); err != nil {
		return err
	}
	return r.export()
}

// step runs one optimizer step over the micro-batches.
func (r *runner) step(micro []*Batch, sched Schedule) (logRow, error) {
	start := time.Now()
	total := 0
	for _, b := range micro {
		total += b.LossTokens()
	}
	for _, t := range r.train {
		clear(t.G)
	}
	var sum float64
	for k, b := range micro {
		if r.lora != nil {
			r.lora.Reseed(r.cfg.Seed ^ uint64(r.st.Step)*0x9e3779b97f4a7c15 ^ uint64(k+1)*0xbf58476d1ce4e5b9)
		}
		s, _, err := r.net.Step(b, 1/float32(max(total, 1)))
		if err != nil {
			return logRow{}, err
		}
		sum += s
	}
	norm := ClipGrad(r.train, r.cfg.Clip)
	lr := sched.At(r.st.Step)
	r.opt.Update(r.train, lr)
	toks := len(micro) * r.cfg.BatchSize * r.cfg.SeqLen
	return logRow{
		Step: r.st.Step + 1, Loss: sum / float64(max(total, 1)), LR: lr, GradNorm: norm,
		TokensPerS: float64(toks) / time.Since(start).Seconds(), EvalLoss: nan(),
	}, nil
}

// produce streams training batches, epoch after epoch, skipping the first
// skip of them (already consumed before a resume).
func (r *runner) produce(ctx context.Context, ch chan<- *Batch, skip int) error {
	defer close(ch)
	n := 0
	send := func(bs []*Batch) error {
		for _, b := range bs {
			n++
			if n <= skip {
				continue
			}
			select {
			case ch <- b:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	for epoch := uint64(1); ; epoch++ {
		rng := NewRNG(r.cfg.Seed ^ epoch*0x94d049bb133111eb)
		pk := &Packer{B: r.cfg.BatchSize, T: r.cfg.SeqLen, Pad: r.pad}
		var buf []Example
		pick := func() Example {
			i := rng.Intn(len(buf))
			ex := buf[i]
			buf[i] = buf[len(buf)-1]
			buf = buf[:len(buf)-1]
			return ex
		}
		before := n
		err := r.stream.Each(false, func(ex Example) error {
			buf = append(buf, ex)
			if len(buf) < r.cfg.Shuffle {
				return nil
			}
			pk.Add(pick())
			return send(pk.Take())
		})
		if err != nil {
			return err
		}
		for len(buf) > 0 {
			pk.Add(pick())
		}
		pk.Flush()
		if err := send(pk.Take()); err != nil {
			return err
		}
		if n == before {
			return fmt.Errorf("train: no training examples with assistant tokens in %s", strings.Join(r.stream.Files, ", "))
		}
	}
}

func (r *runner) loadEval() error {
	if r.stream.EvalEvery == 0 {
		return nil
	}
	pk := &Packer{B: r.cfg.BatchSize, T: r.cfg.SeqLen, Pad: r.pad}
	err := r.stream.Each(true, func(ex Example) error { pk.Add(ex); return nil })
	if err != nil {
		return err
	}
	pk.Flush()
	r.evalB = pk.Take()
	return nil
}

// evalLoss is the mean loss over the held-out batches (NaN without any).
func (r *runner) evalLoss() (float64, error) {
	var sum float64
	cnt := 0
	for _, b := range r.evalB {
		s, c, err := r.net.Loss(b)
		if err != nil {
			return 0, err
		}
		sum += s
		cnt += c
	}
	if cnt == 0 {
		return nan(), nil
	}
	return sum / float64(cnt), nil
}

// EvalLoss loads cfg's model and returns its held-out loss before training.
func EvalLoss(cfg *Config) (float64, error) {
	r, err := newRunner(cfg, "")
	if err != nil {
		return 0, err
	}
	defer r.pool.Close()
	if err := r.loadEval(); err != nil {
		return 0, err
	}
	return r.evalLoss()
}

// export writes the formats cfg.Export names.
func (r *runner) export() error {
	merged := r.p
	if r.lora != nil {
		// Merge into a copy so the checkpoint's base weights stay frozen.
		merged = r.p.clone()
		lo := *r.lora
		lo.remap(r.p, merged)
		lo.Merge()
	}
	for _, e := range r.cfg.Export {
		var err error
		switch e {
		case "gguf":
			if r.tokKVs == nil {
				return fmt.Errorf("train: gguf export needs the tokenizer metadata of a GGUF source model (model %s is not GGUF); set tokenizer_gguf or use export: [hf]", r.cfg.Model)
			}
			err = ExportGGUF(filepath.Join(r.out, GGUFName), r.cfg.Name, merged, r.tokKVs)
		case "hf":
			err = ExportHF(filepath.Join(r.out, HFDirName), merged)
		case "peft":
			err = r.lora.SavePEFT(filepath.Join(r.out, PEFTDirName), r.p, r.cfg.Model)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// tokenCount is the length of tokenizer.ggml.tokens.
func tokenCount(kvs []gguf.KV) int {
	for _, kv := range kvs {
		if kv.Key == "tokenizer.ggml.tokens" {
			return kv.Value.Len()
		}
	}
	return -1
}

// clone deep-copies the weights (not gradients).
func (p *Params) clone() *Params {
	q, _ := NewParams(p.Cfg)
	for i, t := range p.List {
		copy(q.List[i].W, t.W)
	}
	return q
}

// remap points a copy of lo's adapters at q's tensors instead of p's.
func (lo *LoRA) remap(p, q *Params) {
	idx := map[*Tensor]*Tensor{}
	for i, t := range p.List {
		idx[t] = q.List[i]
	}
	ads := make([]*Adapter, len(lo.Adapters))
	for i, a := range lo.Adapters {
		c := *a
		c.Base = idx[a.Base]
		ads[i] = &c
	}
	lo.Adapters = ads
}
