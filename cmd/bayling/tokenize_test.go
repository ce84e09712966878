package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/testenv"
	"github.com/spf13/cobra"
)

func runTok(t *testing.T, c *cobra.Command, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	c.SetIn(strings.NewReader(stdin))
	c.SetOut(&out)
	c.SetErr(&errOut)
	c.SetArgs(args)
	err := c.Execute()
	return out.String(), err
}

func TestTokenizeCLI(t *testing.T) {
	l3 := testenv.SharedPath(t, "fixtures", "llama3", "tokenizer.model")
	l2 := testenv.SharedPath(t, "fixtures", "llama2", "tokenizer.model")
	cases := []struct {
		model, stdin, want string
		args               []string
	}{
		// llama3-tokenizer-js / llama.cpp ids
		{l3, "grabbed\n grabbed\n\n", "59312 2788\n30418\n\n", nil},
		{l3, "<|eot_id|>", "27 91 68 354 851 91 29\n", nil},
		{l3, "<|eot_id|>", "128000 128009\n", []string{"--bos", "--special"}},
		{l3, "\"ax\\n####\\nboo\"\n\"\"\n", "[710,198,71050,34093]\n[]\n", []string{"--json"}},
		// SentencePiece: "Hello" -> 15043, " Hello" -> 29871 15043
		{l2, "Hello\n Hello\n", "1 15043\n1 29871 15043\n", []string{"--bos"}},
	}
	for _, c := range cases {
		got, err := runTok(t, newTokenizeCmd(), c.stdin, append([]string{"-m", c.model}, c.args...)...)
		if err != nil || got != c.want {
			t.Errorf("tokenize %v %q: got %q, %v; want %q", c.args, c.stdin, got, err, c.want)
		}
	}
	got, err := runTok(t, newDetokenizeCmd(), "1 15043\n1 29871 15043\n", "-m", l2)
	if want := "Hello\n Hello\n"; err != nil || got != want {
		t.Errorf("detokenize: got %q, %v; want %q", got, err, want)
	}
	got, err = runTok(t, newDetokenizeCmd(), "[710,198,71050,34093]\n[128000,27]\n", "-m", l3, "--json")
	if want := "\"ax\\n####\\nboo\"\n\"<|begin_of_text|><\"\n"; err != nil || got != want {
		t.Errorf("detokenize --json: got %q, %v; want %q", got, err, want)
	}
	if _, err := runTok(t, newDetokenizeCmd(), "1 2\n5 32000\n", "-m", l2); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("out-of-range id: err %v, want one naming line 2", err)
	}
	if _, err := runTok(t, newTokenizeCmd(), "not json\n", "-m", l2, "--json"); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad JSON: err %v", err)
	}
	if _, err := runTok(t, newTokenizeCmd(), "x\n", "-m", testenv.SharedPath(t, "fixtures", "README.md")); err == nil {
		t.Error("README.md as a tokenizer: no error")
	}
}
