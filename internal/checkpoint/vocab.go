package checkpoint

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// GGUF token types (llama_token_type), the same numbers SentencePiece uses.
const (
	tokNormal      = 1
	tokUnknown     = 2
	tokControl     = 3
	tokUserDefined = 4
	tokUnused      = 5
	tokByte        = 6
)

// ggufVocab is the tokenizer.ggml.* metadata llama.cpp's converter writes.
type ggufVocab struct {
	model   string // "llama" or "gpt2"
	pre     string
	tokens  []string
	scores  []float32 // llama only
	types   []int32
	merges  []string // gpt2 only
	special map[string]int
	add     map[string]bool
	chat    string
	hasChat bool
}

// kvs lists the metadata in the converter's order.
func (v *ggufVocab) kvs() []kv {
	out := []kv{
		{"tokenizer.ggml.model", v.model},
		{"tokenizer.ggml.pre", v.pre},
		{"tokenizer.ggml.tokens", v.tokens},
	}
	if v.scores != nil {
		out = append(out, kv{"tokenizer.ggml.scores", v.scores})
	}
	out = append(out, kv{"tokenizer.ggml.token_type", v.types})
	if v.merges != nil {
		out = append(out, kv{"tokenizer.ggml.merges", v.merges})
	}
	keys := map[string]string{"bos": "bos_token_id", "eos": "eos_token_id", "unk": "unknown_token_id",
		"sep": "seperator_token_id", "pad": "padding_token_id", "cls": "cls_token_id", "mask": "mask_token_id"}
	for _, typ := range specialTypes {
		if id, ok := v.special[typ]; ok {
			out = append(out, kv{"tokenizer.ggml." + keys[typ], uint32(id)})
		}
	}
	for _, typ := range specialTypes {
		if b, ok := v.add[typ]; ok {
			out = append(out, kv{"tokenizer.ggml.add_" + typ + "_token", b})
		}
	}
	if v.hasChat {
		out = append(out, kv{"tokenizer.chat_template", v.chat})
	}
	return out
}

type kv struct {
	key string
	val any
}

var specialTypes = []string{"bos", "eos", "unk", "sep", "pad", "cls", "mask"}

// readVocab builds the GGUF vocabulary of an HF directory as llama.cpp's
// LlamaModel.set_vocab does: tokenizer.model (SentencePiece, "llama") if
// present, else tokenizer.json (byte-level BPE, "gpt2").
func readVocab(dir string, vocabSize int) (*ggufVocab, error) {
	var v *ggufVocab
	var err error
	if b, rerr := os.ReadFile(filepath.Join(dir, "tokenizer.model")); rerr == nil && len(b) > 0 && b[0] == 0x0A {
		v, err = spmVocab(dir, b, vocabSize)
	} else if b, rerr := os.ReadFile(filepath.Join(dir, "tokenizer.json")); rerr == nil {
		v, err = bpeVocab(dir, b, vocabSize)
	} else if errors.Is(rerr, fs.ErrNotExist) {
		return nil, fmt.Errorf("checkpoint %s: no SentencePiece tokenizer.model or tokenizer.json to convert", dir)
	} else {
		return nil, fmt.Errorf("checkpoint %s: %w", dir, rerr)
	}
	if err != nil {
		return nil, err
	}
	if err := v.specials(dir); err != nil {
		return nil, err
	}
	return v, nil
}

// spmVocab reads a SentencePiece ModelProto: pieces (field 1) with piece
// (1), score (2) and type (3). Ids past the model up to vocabSize become
// [PADi] UNUSED tokens, as the converter pads them.
func spmVocab(dir string, b []byte, vocabSize int) (*ggufVocab, error) {
	path := filepath.Join(dir, "tokenizer.model")
	v := &ggufVocab{model: "llama", pre: "default", special: map[string]int{}, add: map[string]bool{}}
	err := protoFields(b, func(num, wt int, _ uint64, data []byte) error {
		if num != 1 || wt != 2 {
			return nil
		}
		piece, score, typ := "", float32(0), int32(tokNormal)
		err := protoFields(data, func(n, w int, x uint64, d []byte) error {
			switch {
			case n == 1 && w == 2:
				piece = string(d)
			case n == 2 && w == 5:
				score = math.Float32frombits(uint32(x))
			case n == 3 && w == 0:
				typ = int32(x)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if typ < tokNormal || typ > tokByte {
			return fmt.Errorf("piece %d %q: type %d", len(v.tokens), piece, typ)
		}
		v.tokens = append(v.tokens, piece)
		v.scores = append(v.scores, score)
		v.types = append(v.types, typ)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if len(v.tokens) == 0 {
		return nil, fmt.Errorf("checkpoint %s: no pieces", path)
	}
	if len(v.tokens) > vocabSize {
		return nil, fmt.Errorf("checkpoint %s: %d pieces but vocab_size is %d", path, len(v.tokens), vocabSize)
	}
	for i := len(v.tokens); i < vocabSize; i++ {
		v.tokens = append(v.tokens, fmt.Sprintf("[PAD%d]", i))
		v.scores = append(v.scores, -1000)
		v.types = append(v.types, tokUnused)
	}
	return v, v.addedTokensDecoder(dir)
}

// addedTokensDecoder applies tokenizer_config.json's added_tokens_decoder
// to a SentencePiece vocabulary, as _create_vocab_sentencepiece does.
func (v *ggufVocab) addedTokensDecoder(dir string) error {
	cfg, path, err := readTokenizerConfig(dir)
	if err != nil || cfg == nil {
		return err
	}
	var dec map[string]struct {
		Content string `json:"content"`
		Special bool   `json:"special"`
	}
	if raw, ok := cfg["added_tokens_decoder"]; ok {
		if err := json.Unmarshal(raw, &dec); err != nil {
			return fmt.Errorf("checkpoint %s: added_tokens_decoder: %w", path, err)
		}
	}
	for k, d := range dec {
		var id int
		if _, err := fmt.Sscan(k, &id); err != nil || id < 0 || id >= len(v.tokens) {
			return fmt.Errorf("checkpoint %s: added_tokens_decoder id %q outside vocabulary of %d", path, k, len(v.tokens))
		}
		if d.Special || looksSpecial(d.Content) {
			v.types[id] = tokControl
		} else {
			d.Content = strings.ReplaceAll(d.Content, "\u2581", " ")
			v.types[id] = tokUserDefined
		}
		v.tokens[id] = d.Content
		v.scores[id] = -1000
	}
	return nil
}

// looksSpecial is the converter's does_token_look_special.
func looksSpecial(s string) bool {
	if s == "<pad>" || s == "<mask>" || s == "<2mass>" || s == "[@BOS@]" {
		return true
	}
	return (strings.HasPrefix(s, "<|") && strings.HasSuffix(s, "|>")) ||
		(strings.HasPrefix(s, "<｜") && strings.HasSuffix(s, "｜>")) ||
		(strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") && len(s) > 2 && strings.ToUpper(s) == s)
}

// hfTokenizerFile is the part of tokenizer.json the converter reads.
type hfTokenizerFile struct {
	AddedTokens []struct {
		ID      int    `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
	PreTokenizer json.RawMessage `json:"pre_tokenizer"`
	Model        struct {
		Type   string          `json:"type"`
		Vocab  map[string]int  `json:"vocab"`
		Merges json.RawMessage `json:"merges"`
	} `json:"model"`
}

// bpeVocab reads a byte-level BPE tokenizer.json (get_vocab_base + the
// merges of SpecialVocab).
func bpeVocab(dir string, b []byte, vocabSize int) (*ggufVocab, error) {
	path := filepath.Join(dir, "tokenizer.json")
	var j hfTokenizerFile
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if j.Model.Type != "BPE" {
		return nil, fmt.Errorf("checkpoint %s: model.type %q: only byte-level BPE converts", path, j.Model.Type)
	}
	pre, err := preName(j.PreTokenizer)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	v := &ggufVocab{model: "gpt2", pre: pre, special: map[string]int{}, add: map[string]bool{}}
	v.tokens = make([]string, vocabSize)
	v.types = make([]int32, vocabSize)
	for i := range v.tokens {
		v.tokens[i], v.types[i] = fmt.Sprintf("[PAD%d]", i), tokUnused
	}
	for p, id := range j.Model.Vocab {
		if id < 0 || id >= vocabSize {
			return nil, fmt.Errorf("checkpoint %s: token %q id %d outside vocab_size %d", path, p, id, vocabSize)
		}
		v.tokens[id], v.types[id] = p, tokNormal
	}
	for _, a := range j.AddedTokens {
		if a.ID < 0 || a.ID >= vocabSize {
			return nil, fmt.Errorf("checkpoint %s: added token %q id %d outside vocab_size %d", path, a.Content, a.ID, vocabSize)
		}
		v.tokens[a.ID] = a.Content
		if a.Special || looksSpecial(a.Content) {
			v.types[a.ID] = tokControl
		} else {
			v.types[a.ID] = tokUserDefined
		}
	}
	var strs []string
	var pairs [][2]string
	if len(j.Model.Merges) > 0 && json.Unmarshal(j.Model.Merges, &strs) == nil {
		v.merges = strs
	} else if len(j.Model.Merges) > 0 && json.Unmarshal(j.Model.Merges, &pairs) == nil {
		v.merges = make([]string, len(pairs))
		for i, p := range pairs {
			enc := func(s string) string { return strings.ReplaceAll(s, " ", "\u0120") }
			v.merges[i] = enc(p[0]) + " " + enc(p[1])
		}
	} else if len(j.Model.Merges) > 0 && string(j.Model.Merges) != "null" {
		return nil, fmt.Errorf("checkpoint %s: model.merges: unknown format", path)
	}
	if v.merges == nil {
		v.merges = []string{}
	}
	return v, nil
}

// preName maps a tokenizer.json pre_tokenizer to llama.cpp's
// tokenizer.ggml.pre name. The converter hashes tokenizer output instead;
// we recognise the splitting regex of the families llama.cpp knows.
func preName(raw json.RawMessage) (string, error) {
	s := string(raw)
	switch {
	case strings.Contains(s, `\\p{N}{1,3}`) && strings.Contains(s, `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+`):
		return "llama-bpe", nil
	case strings.Contains(s, `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|`):
		return "qwen2", nil
	case strings.Contains(s, `"ByteLevel"`) && !strings.Contains(s, `"Split"`):
		return "gpt-2", nil
	}
	return "", fmt.Errorf("pre_tokenizer %.200s: not a pre-tokenizer llama.cpp names (Llama 3, Qwen2, GPT-2)", s)
}

func readTokenizerConfig(dir string) (map[string]json.RawMessage, string, error) {
	path := filepath.Join(dir, "tokenizer_config.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, path, nil
	}
	if err != nil {
		return nil, path, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, path, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return m, path, nil
}

// specials fills special ids, add_*_token and the chat template as
// gguf-py's SpecialVocab does: tokenizer_config.json first (token
// contents looked up among tokenizer.json's added tokens), then
// config.json's <typ>_token_id for the rest.
func (v *ggufVocab) specials(dir string) error {
	cfg, _, err := readTokenizerConfig(dir)
	if err != nil {
		return err
	}
	added := map[string]int{} // first id of each added token's content
	if b, err := os.ReadFile(filepath.Join(dir, "tokenizer.json")); err == nil {
		var j hfTokenizerFile
		if json.Unmarshal(b, &j) == nil {
			for _, a := range j.AddedTokens {
				if _, ok := added[a.Content]; !ok {
					added[a.Content] = a.ID
				}
			}
		}
	}
	set := func(typ string, id int) {
		if _, done := v.special[typ]; !done && id >= 0 && id < len(v.tokens) {
			v.special[typ] = id
		}
	}
	if cfg != nil {
		if v.chat, err = HFChatTemplate(dir); err != nil {
			return err
		}
		v.hasChat = v.chat != ""
		for _, typ := range specialTypes {
			var b bool
			if raw, ok := cfg["add_"+typ+"_token"]; ok && json.Unmarshal(raw, &b) == nil {
				v.add[typ] = b
			}
			raw, ok := cfg[typ+"_token"]
			if !ok {
				continue
			}
			var content string
			if json.Unmarshal(raw, &content) != nil {
				var obj struct {
					Content *string `json:"content"`
				}
				if json.Unmarshal(raw, &obj) != nil || obj.Content == nil {
					continue
				}
				content = *obj.Content
			}
			if id, ok := added[content]; ok {
				set(typ, id)
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	var c map[string]json.RawMessage
	if err := json.Unmarshal(b, &c); err != nil {
		return fmt.Errorf("checkpoint %s: config.json: %w", dir, err)
	}
	for _, typ := range specialTypes {
		var id int
		if raw, ok := c[typ+"_token_id"]; ok && json.Unmarshal(raw, &id) == nil {
			set(typ, id)
		}
	}
	return nil
}

// protoFields walks the top-level fields of a protobuf message.
func protoFields(b []byte, fn func(num, wt int, v uint64, data []byte) error) error {
	for off := 0; off < len(b); {
		key, n := binary.Uvarint(b[off:])
		if n <= 0 {
			return fmt.Errorf("protobuf: bad field key at offset %d", off)
		}
		off += n
		num, wt := int(key>>3), int(key&7)
		var v uint64
		var data []byte
		switch wt {
		case 0:
			x, n := binary.Uvarint(b[off:])
			if n <= 0 {
				return fmt.Errorf("protobuf: bad varint at offset %d", off)
			}
			v, off = x, off+n
		case 1:
			if off+8 > len(b) {
				return fmt.Errorf("protobuf: truncated fixed64 at offset %d", off)
			}
			v, off = binary.LittleEndian.Uint64(b[off:]), off+8
		case 2:
			l, n := binary.Uvarint(b[off:])
			if n <= 0 || l > uint64(len(b)-off-n) {
				return fmt.Errorf("protobuf: bad length at offset %d", off)
			}
			off += n
			data, off = b[off:off+int(l)], off+int(l)
		case 5:
			if off+4 > len(b) {
				return fmt.Errorf("protobuf: truncated fixed32 at offset %d", off)
			}
			v, off = uint64(binary.LittleEndian.Uint32(b[off:])), off+4
		default:
			return fmt.Errorf("protobuf: wire type %d at offset %d", wt, off)
		}
		if err := fn(num, wt, v, data); err != nil {
			return err
		}
	}
	return nil
}
