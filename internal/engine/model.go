package engine

import (
	"path/filepath"
	"strings"

	"github.com/bayling-go/bayling/internal/chat"
	"github.com/bayling-go/bayling/internal/checkpoint"
	"github.com/bayling-go/bayling/internal/gguf"
	"github.com/bayling-go/bayling/internal/kernels"
	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/tokenizer"
)

// Loaded is a checkpoint ready to run: the model on its thread pool and
// the facts that choose its prompt format.
type Loaded struct {
	Checkpoint *checkpoint.Model
	Model      *llama.Model
	Info       chat.ModelInfo
	// ID names the model in API responses: its metadata name, else the
	// file name without extension. It never chooses the prompt format.
	ID   string
	pool *kernels.Pool
}

// LoadOptions adjust Load.
type LoadOptions struct {
	Tokenizer string // tokenizer file instead of the checkpoint's own
	Quantize  string // quantize an HF directory's matrices while loading (checkpoint.Options)
	Threads   int    // 0 = all cores
}

// Load opens a checkpoint and reads its chat facts (GGUF general.name,
// tokenizer.chat_template, the tokenizer family).
func Load(path string, opt LoadOptions) (*Loaded, error) {
	ck, err := checkpoint.Load(path, checkpoint.Options{Tokenizer: opt.Tokenizer, Quantize: opt.Quantize})
	if err != nil {
		return nil, err
	}
	m, err := llama.New(ck.Config, ck.Weights)
	if err != nil {
		ck.Close()
		return nil, err
	}
	info, err := modelInfo(ck)
	if err != nil {
		ck.Close()
		return nil, err
	}
	pool := kernels.NewPool(opt.Threads)
	m.SetPool(pool)
	id := info.Name
	if id == "" {
		id = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	return &Loaded{Checkpoint: ck, Model: m, Info: info, ID: id, pool: pool}, nil
}

// Close releases the thread pool and the file mapping.
func (l *Loaded) Close() {
	l.pool.Close()
	l.Checkpoint.Close()
}

// NewEngine starts an engine on the loaded model.
func (l *Loaded) NewEngine(opt Options) (*Engine, error) {
	return New(l.Model, l.Checkpoint.Tokenizer, l.Checkpoint.Stop, opt)
}

func modelInfo(ck *checkpoint.Model) (chat.ModelInfo, error) {
	tok := ck.Tokenizer
	info := chat.ModelInfo{
		Arch:          "llama",
		TokenizerKind: tokenizerKind(tok),
		HasToken: func(s string) bool {
			_, ok := tok.TokenID(s)
			return ok
		},
		BOS: tok.Piece(tok.BOS()),
		EOS: tok.Piece(tok.EOS()),
	}
	switch ck.Format {
	case checkpoint.FormatGGUF:
		return ggufInfo(info, ck.Path)
	case checkpoint.FormatHF:
		return hfInfo(info, ck.Path)
	}
	return info, nil
}

// hfInfo adds an HF directory's chat_template (tokenizer_config.json).
func hfInfo(info chat.ModelInfo, dir string) (chat.ModelInfo, error) {
	var err error
	info.ChatTemplate, err = checkpoint.HFChatTemplate(dir)
	return info, err
}

// ggufInfo adds a GGUF's name, architecture, chat template and tokenizer
// model.
func ggufInfo(info chat.ModelInfo, path string) (chat.ModelInfo, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return info, err
	}
	defer f.Close()
	info.Arch = f.Arch()
	if v, ok := f.Get("general.name"); ok {
		info.Name, _ = v.Str()
	}
	if v, ok := f.Get("tokenizer.chat_template"); ok {
		info.ChatTemplate, _ = v.Str()
	}
	if v, ok := f.Get("tokenizer.ggml.model"); ok {
		if s, _ := v.Str(); s == "gpt2" {
			info.TokenizerKind = "bpe"
		} else if s == "llama" {
			info.TokenizerKind = "spm"
		}
	}
	return info, nil
}

func tokenizerKind(t tokenizer.Tokenizer) string {
	switch t.(type) {
	case *tokenizer.BPE:
		return "bpe"
	case *tokenizer.SPM, *tokenizer.Llama2C:
		return "spm"
	}
	return ""
}

// Prompter turns conversations into requests in one chat format.
type Prompter struct {
	T        chat.Template
	tok      tokenizer.Tokenizer
	stopIDs  []int
	stops    []string
	bayLing  bool
	addBOS   bool
	encoding tokenizer.EncodeOptions
}

// NewPrompter chooses the template called name ("" or "auto": by the
// model's facts, see chat.Select) for a model with tokenizer tok.
func NewPrompter(name string, info chat.ModelInfo, tok tokenizer.Tokenizer) (*Prompter, error) {
	t, err := chat.Select(name, info)
	if err != nil {
		return nil, err
	}
	spec := t.Stops()
	p := &Prompter{T: t, tok: tok, stops: spec.Strings, bayLing: strings.HasPrefix(t.Name(), "bayling")}
	for _, s := range spec.Tokens {
		if id, ok := tok.TokenID(s); ok {
			p.stopIDs = append(p.stopIDs, id)
		}
	}
	for _, id := range spec.IDs {
		if id >= 0 && id < tok.VocabSize() {
			p.stopIDs = append(p.stopIDs, id)
		}
	}
	p.encoding = tokenizer.EncodeOptions{AddBOS: !t.RendersBOS(), ParseSpecial: true}
	return p, nil
}

// Encode renders msgs with an open assistant turn and encodes the text.
func (p *Prompter) Encode(msgs []chat.Message) ([]int, error) {
	text, err := p.T.Render(msgs, true)
	if err != nil {
		return nil, err
	}
	return p.tok.Encode(text, p.encoding), nil
}

// Request makes a generation request for msgs: the format's stop tokens
// and strings are added to stop, and BayLing's post-processing applies to
// BayLing formats.
func (p *Prompter) Request(msgs []chat.Message, r Request) (Request, error) {
	ids, err := p.Encode(msgs)
	if err != nil {
		return r, err
	}
	r.Prompt = ids
	return p.Finish(r), nil
}

// Finish adds the format's stop tokens and strings to r, and BayLing's
// post-processing for BayLing formats.
func (p *Prompter) Finish(r Request) Request {
	r.StopIDs = append(append([]int(nil), r.StopIDs...), p.stopIDs...)
	r.Stop = append(append([]string(nil), r.Stop...), p.stops...)
	if p.bayLing {
		r.Replacer = chat.NewBayLingReplacer()
	}
	return r
}
