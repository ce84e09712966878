package tokenizer

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// pySentencePiece encodes texts with python3-sentencepiece (ids) and
// decodes its own ids back (texts), in one process.
func pySentencePiece(t *testing.T, model string, texts []string) (ids [][]int, decoded []string) {
	t.Helper()
	const script = `
import sys, json, sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
texts = json.load(sys.stdin)
ids = [sp.encode(x) for x in texts]
json.dump({"ids": ids, "decoded": [sp.decode(i) for i in ids]}, sys.stdout)
`
	if err := exec.Command("/usr/bin/python3", "-c", "import sentencepiece").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3-sentencepiece missing: %v", err)
		}
		t.Skipf("python3-sentencepiece missing: %v", err)
	}
	in, _ := json.Marshal(texts)
	cmd := exec.Command("/usr/bin/python3", "-c", script, model)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var r struct {
		IDs     [][]int
		Decoded []string
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	return r.IDs, r.Decoded
}

// TestSPMWhitespace: both SentencePiece models (Llama 2 keeps whitespace,
// stories260K's tok512 has remove_extra_whitespaces) on whitespace-heavy
// text, encode and decode, against SentencePiece itself.
func TestSPMWhitespace(t *testing.T) {
	texts := []string{"", " ", "   ", "a", "  Once  upon   a time  ", "\tx  y\t", " \n a", "x   ",
		"hi\u3000 there", "Lily saw a café 🦙", "a\n\n  b", "  \u00a0 z", "é ́e"}
	for _, name := range []string{"llama2/tokenizer.model", "stories260K/tok512.model"} {
		path := fixture(t, name)
		tok := load(t, path)
		wantIDs, wantText := pySentencePiece(t, path, texts)
		for i, s := range texts {
			got := tok.Encode(s, EncodeOptions{})
			if !equalInts(got, wantIDs[i]) {
				t.Errorf("%s: Encode(%q) = %v, SentencePiece %v", name, s, got, wantIDs[i])
			}
			if d := tok.Decode(wantIDs[i]); d != wantText[i] {
				t.Errorf("%s: Decode(%v) = %q, SentencePiece %q", name, wantIDs[i], d, wantText[i])
			}
		}
	}
}
