package chat

import (
	"fmt"
	"strings"
)

// ModelInfo are the facts about a loaded model that choose its prompt
// format. There is deliberately no file path: a renamed file must not
// change how a model is prompted.
type ModelInfo struct {
	// Name is the model's own name from its metadata (GGUF general.name,
	// or the name in an HF model card/config). Only used to recognise
	// BayLing, whose released weights carry no template of their own.
	Name string
	// Arch is the architecture ("llama", ...).
	Arch string
	// TokenizerKind is "spm" for SentencePiece vocabularies (Llama-2) or
	// "bpe" for byte-level BPE / tiktoken ones (Llama-3, Qwen).
	TokenizerKind string
	// HasToken reports whether the vocabulary has a token with this text.
	HasToken func(string) bool
	// ChatTemplate is tokenizer_config.json chat_template or GGUF
	// tokenizer.chat_template, if any.
	ChatTemplate string
	// BOS and EOS are the tokenizer's BOS and EOS token texts.
	BOS, EOS string
}

func (m ModelInfo) has(tok string) bool { return m.HasToken != nil && m.HasToken(tok) }

// Template names accepted by Select.
const (
	NameBayLingLlama2  = "bayling-llama2"
	NameBayLingLlama3  = "bayling-llama3"
	NameLlama2Chat     = "llama-2-chat"
	NameLlama3Instruct = "llama-3-instruct"
	NameModelTemplate  = "jinja" // the model's own chat_template
	nameAuto           = "auto"
)

// Names lists the template names Select accepts besides "" and "auto".
func Names() []string {
	return []string{NameBayLingLlama2, NameBayLingLlama3, NameLlama2Chat, NameLlama3Instruct, NameModelTemplate}
}

// Select returns the template called name, or with name "" or "auto" the
// one the model's facts call for:
//
//  1. a model whose metadata name contains "bayling" (any case) gets
//     BayLing's own format: the Llama-3 one when the vocabulary has
//     <|start_header_id|> and <|eot_id|>, the Llama-2 one for a
//     SentencePiece vocabulary. This wins over a chat_template, which a
//     conversion may have copied from the base model;
//  2. otherwise a model with a chat_template uses it;
//  3. otherwise a vocabulary with <|start_header_id|> and <|eot_id|> gets
//     Llama-3-instruct;
//  4. otherwise there is no safe choice and Select fails, asking for a name
//     (Llama-2-chat is never guessed: its vocabulary is the base model's).
func Select(name string, info ModelInfo) (Template, error) {
	llama3 := info.has("<|start_header_id|>") && info.has("<|eot_id|>")
	switch strings.ToLower(name) {
	case NameBayLingLlama2, "bayling":
		return BayLingLlama2{}, nil
	case NameBayLingLlama3, "bayling-3":
		return BayLingLlama3{}, nil
	case NameLlama2Chat:
		return Llama2Chat{}, nil
	case NameLlama3Instruct:
		return Llama3Instruct{}, nil
	case NameModelTemplate:
		if info.ChatTemplate == "" {
			return nil, fmt.Errorf("chat: model %q has no chat_template", info.Name)
		}
		return NewJinja(info.Name, info.ChatTemplate, info.BOS, info.EOS, info.HasToken)
	case "", nameAuto:
	default:
		return nil, fmt.Errorf("chat: unknown template %q (known: auto, %s)", name, strings.Join(Names(), ", "))
	}
	if strings.Contains(strings.ToLower(info.Name), "bayling") {
		switch {
		case llama3:
			return BayLingLlama3{}, nil
		case info.TokenizerKind == "spm":
			return BayLingLlama2{}, nil
		}
		return nil, fmt.Errorf("chat: BayLing model %q has neither a Llama-3 vocabulary nor a SentencePiece one (tokenizer %q)", info.Name, info.TokenizerKind)
	}
	if info.ChatTemplate != "" {
		return NewJinja(info.Name, info.ChatTemplate, info.BOS, info.EOS, info.HasToken)
	}
	if llama3 {
		return Llama3Instruct{}, nil
	}
	return nil, fmt.Errorf("chat: model %q has no chat_template and no known chat format; choose a template (%s)", info.Name, strings.Join(Names(), ", "))
}
