package train

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bayling-go/bayling/internal/chat"
	"github.com/bayling-go/bayling/internal/tokenizer"
)

// record is one JSONL line as `bayling data build` writes it: OpenAI
// {"messages":[{"role","content"}]} or ShareGPT
// {"conversations":[{"from","value"}], "system": "..."}.
type record struct {
	Messages      []chat.Message `json:"messages"`
	Conversations []struct {
		From  string `json:"from"`
		Value string `json:"value"`
	} `json:"conversations"`
	System string `json:"system"`
}

var shareGPTRoles = map[string]string{
	"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
	"chatgpt": "assistant", "system": "system",
}

// parseRecord returns the conversation of one JSONL line.
func parseRecord(line []byte) ([]chat.Message, error) {
	var r record
	if err := json.Unmarshal(line, &r); err != nil {
		return nil, err
	}
	switch {
	case len(r.Messages) > 0:
		return r.Messages, nil
	case len(r.Conversations) > 0:
		var msgs []chat.Message
		if r.System != "" {
			msgs = append(msgs, chat.Message{Role: "system", Content: r.System})
		}
		for i, c := range r.Conversations {
			role, ok := shareGPTRoles[strings.ToLower(c.From)]
			if !ok {
				return nil, fmt.Errorf("conversations[%d]: unknown speaker %q", i, c.From)
			}
			msgs = append(msgs, chat.Message{Role: role, Content: c.Value})
		}
		return msgs, nil
	}
	return nil, fmt.Errorf("neither \"messages\" nor \"conversations\"")
}

// DataFiles expands paths: files stay, directories contribute every *.jsonl
// below them in lexical order (a `bayling data build` output holds both a
// messages/ and a sharegpt/ copy; point at one of them).
func DataFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("train: data: %w", err)
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".jsonl") {
				found = append(found, path)
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("train: data: %w", err)
		}
		slices.Sort(found)
		if len(found) == 0 {
			return nil, fmt.Errorf("train: data: no .jsonl files under %s", p)
		}
		out = append(out, found...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("train: no data files")
	}
	return out, nil
}

// Example is one tokenized conversation: Loss[i] says whether token i is a
// target (an assistant token, or the end-of-turn token closing one).
type Example struct {
	Tokens []int
	Loss   []bool
}

// Encoder turns conversations into Examples with a chat template.
type Encoder struct {
	Tmpl chat.Template
	Tok  tokenizer.Tokenizer
	eot  map[int]bool
}

// NewEncoder prepares an encoder; the template's stop tokens (and the
// tokenizer's EOS) mark where an assistant turn ends. A stop token the
// vocabulary has but does not parse as one special token (a tokenizer
// without token types, such as llama2.c's tokenizer.bin) is an error:
// the model would learn to spell "</s>" instead of ending its turn.
func NewEncoder(tmpl chat.Template, tok tokenizer.Tokenizer) (*Encoder, error) {
	e := &Encoder{Tmpl: tmpl, Tok: tok, eot: map[int]bool{}}
	stops := tmpl.Stops().Tokens
	for _, s := range stops {
		id, ok := tok.TokenID(s)
		if !ok {
			continue
		}
		if got := tok.Encode(s, tokenizer.EncodeOptions{ParseSpecial: true}); len(got) != 1 || got[0] != id {
			return nil, fmt.Errorf("train: template %s ends turns with %q, which this tokenizer encodes as %v, not as token %d; use a tokenizer with special-token types (e.g. the model's GGUF)", tmpl.Name(), s, got, id)
		}
		e.eot[id] = true
	}
	if len(stops) > 0 && len(e.eot) == 0 {
		return nil, fmt.Errorf("train: template %s ends turns with %q, none of which is a token of this vocabulary; use a tokenizer with special tokens (e.g. the model's GGUF)", tmpl.Name(), stops)
	}
	if id := tok.EOS(); id >= 0 {
		e.eot[id] = true
	}
	return e, nil
}

func (e *Encoder) encode(text string) []int {
	return e.Tok.Encode(text, tokenizer.EncodeOptions{AddBOS: !e.Tmpl.RendersBOS(), ParseSpecial: true})
}

// Encode renders msgs and marks as targets the tokens of every assistant
// turn up to and including its end-of-turn token. Each turn's span is found
// by rendering the conversation up to its generation prompt and up to its
// end, tokenizing both whole and comparing them with the full tokenization,
// so merges across turn boundaries cannot shift the mask.
func (e *Encoder) Encode(msgs []chat.Message) (Example, error) {
	full, err := e.Tmpl.Render(msgs, false)
	if err != nil {
		return Example{}, err
	}
	ex := Example{Tokens: e.encode(full)}
	ex.Loss = make([]bool, len(ex.Tokens))
	hasLoss := false
	for i, m := range msgs {
		if m.Role != "assistant" {
			continue
		}
		prompt, err := e.Tmpl.Render(msgs[:i], true)
		if err != nil {
			return Example{}, err
		}
		upto, err := e.Tmpl.Render(msgs[:i+1], false)
		if err != nil {
			return Example{}, err
		}
		lo := commonPrefix(e.encode(prompt), ex.Tokens)
		hi := commonPrefix(e.encode(upto), ex.Tokens)
		// End the span at the turn's end-of-turn token; text the template
		// writes after it (a newline) is not the model's to predict.
		for k := lo; k < hi; k++ {
			if e.eot[ex.Tokens[k]] {
				hi = k + 1
				break
			}
		}
		for k := lo; k < hi; k++ {
			ex.Loss[k] = true
			hasLoss = true
		}
	}
	if !hasLoss {
		return Example{}, fmt.Errorf("no assistant tokens")
	}
	return ex, nil
}

func commonPrefix(a, b []int) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// Stream reads examples from files in order, line by line, and splits them
// into training and held-out examples: record k (counting from 0 over all
// files) is held out when k % EvalEvery == EvalEvery-1.
type Stream struct {
	Files     []string
	Enc       *Encoder
	EvalEvery int // 0: no held-out split
}

// Each calls fn for every example of the chosen split (eval or train), in
// file order, stopping at the first error. Lines that are not valid
// conversations are errors naming file and line.
func (s *Stream) Each(eval bool, fn func(Example) error) error {
	k := 0
	for _, path := range s.Files {
		if err := s.file(path, &k, eval, fn); err != nil {
			return err
		}
	}
	return nil
}

func (s *Stream) file(path string, k *int, eval bool, fn func(Example) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		held := s.EvalEvery > 0 && *k%s.EvalEvery == s.EvalEvery-1
		*k++
		if held != eval {
			continue
		}
		msgs, err := parseRecord(b)
		if err != nil {
			return fmt.Errorf("train: %s:%d: %w", path, line, err)
		}
		ex, err := s.Enc.Encode(msgs)
		if err != nil {
			return fmt.Errorf("train: %s:%d: %w", path, line, err)
		}
		if err := fn(ex); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("train: %s: line %d: %w", path, line+1, err)
	}
	return nil
}

// Packer fills Batches from examples: each row takes whole examples while
// they fit (an example longer than a row is cut to the row), the rest of a
// row is padding without loss. Positions restart at every example, so
// attention and RoPE stay inside it.
type Packer struct {
	B, T int
	Pad  int
	cur  *Batch
	row  int // row being filled
	used int // tokens used in that row
	out  []*Batch
}

// Add appends one example, completing batches as rows fill.
func (p *Packer) Add(ex Example) {
	n := min(len(ex.Tokens), p.T)
	if n < 2 {
		return
	}
	if p.cur == nil {
		p.start()
	}
	if p.used+n > p.T {
		p.row++
		p.used = 0
		if p.row == p.B {
			p.out = append(p.out, p.cur)
			p.start()
		}
	}
	base := p.row*p.T + p.used
	for t := 0; t < n; t++ {
		i := base + t
		p.cur.Tokens[i] = ex.Tokens[t]
		p.cur.Pos[i] = t
		p.cur.Targets[i] = -1
		if t+1 < n && ex.Loss[t+1] {
			p.cur.Targets[i] = ex.Tokens[t+1]
		}
	}
	p.used += n
}

func (p *Packer) start() {
	p.cur = NewBatch(p.B, p.T)
	for i := range p.cur.Tokens {
		p.cur.Tokens[i] = p.Pad
		p.cur.Targets[i] = -1
		p.cur.Pos[i] = 0
	}
	p.row, p.used = 0, 0
}

// Take returns the completed batches and forgets them.
func (p *Packer) Take() []*Batch {
	out := p.out
	p.out = nil
	return out
}

// Flush completes the partial batch, if it has any loss tokens.
func (p *Packer) Flush() {
	if p.cur != nil && p.cur.LossTokens() > 0 {
		p.out = append(p.out, p.cur)
	}
	p.cur = nil
}
