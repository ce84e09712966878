package jinja

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bayling-go/bayling/internal/testenv"
)

func sharedDir(t testing.TB) string { return testenv.Shared(t) }

// ggufChatTemplate pulls tokenizer.chat_template out of a GGUF file's
// metadata without a GGUF library: the key is stored as a length-prefixed
// string followed by the value type (8 = string) and the value.
func ggufChatTemplate(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	key := "tokenizer.chat_template"
	var pre [8]byte
	binary.LittleEndian.PutUint64(pre[:], uint64(len(key)))
	i := strings.Index(string(b), string(pre[:])+key)
	if i < 0 {
		t.Fatalf("%s: no %s", path, key)
	}
	p := i + 8 + len(key)
	if binary.LittleEndian.Uint32(b[p:]) != 8 {
		t.Fatalf("%s: %s is not a string", path, key)
	}
	n := binary.LittleEndian.Uint64(b[p+4:])
	return string(b[p+12 : p+12+int(n)])
}

type refCase struct {
	Name     string            `json:"name"`
	Template map[string]string `json:"template"`
	Vars     json.RawMessage   `json:"vars"`
	Output   *string           `json:"output"`
	Error    string            `json:"error"`
}

func (c *refCase) source(t *testing.T) string {
	if s, ok := c.Template["inline"]; ok {
		return s
	}
	shared := sharedDir(t)
	if p, ok := c.Template["config"]; ok {
		var cfg struct {
			ChatTemplate string `json:"chat_template"`
		}
		b, err := os.ReadFile(filepath.Join(shared, "fixtures", p))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &cfg); err != nil {
			t.Fatal(err)
		}
		return cfg.ChatTemplate
	}
	return ggufChatTemplate(t, filepath.Join(shared, "fixtures", c.Template["gguf"]))
}

// testdata/reference.json holds the output of real Jinja2 (see its
// "generator" field and testdata/README.md) for chat templates from
// ../shared and for feature templates.
func TestMatchesJinja2(t *testing.T) {
	var ref struct {
		Generator string    `json:"generator"`
		Cases     []refCase `json:"cases"`
	}
	b, err := os.ReadFile("testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) < 100 {
		t.Fatalf("only %d cases", len(ref.Cases))
	}
	Now = func() time.Time { return time.Date(2024, 7, 9, 13, 5, 1, 0, time.UTC) }
	defer func() { Now = time.Now }()
	for _, c := range ref.Cases {
		t.Run(c.Name, func(t *testing.T) {
			vars, err := ParseJSON(c.Vars)
			if err != nil {
				t.Fatal(err)
			}
			ctx := map[string]any{}
			d := vars.(*Dict)
			for _, k := range d.Keys() {
				ctx[k], _ = d.Get(k)
			}
			tp, err := Parse(c.source(t), HF)
			var got string
			if err == nil {
				got, err = tp.Render(ctx)
			}
			if c.Output == nil {
				if err == nil {
					t.Fatalf("no error, want %s; output %q", c.Error, got)
				}
				var ee *ExceptionError
				if strings.HasPrefix(c.Error, "TemplateError: ") && (!errors.As(err, &ee) || "TemplateError: "+ee.Msg != c.Error) {
					t.Fatalf("error %v, want %s", err, c.Error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != *c.Output {
				t.Fatalf("\n got %q\nwant %q", got, *c.Output)
			}
		})
	}
}
