package tokenizer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzTexts = []string{
	"", " ", "  Hello", "Hello world", "\n", " \n\n ", "\t tabs\r\n", "Cửa Việt", "镇🦙Ꙋ", "l'été 'S 'll 'ſ",
	"<s> </s> <|eot_id|> <|begin_of_text|>", "1234567 ١٢٣", "\u00a0\u3000x\u2028", "e\u0301 Å", "ab\xffcd\xf0\x9f",
}

// FuzzRoundTrip: decode(encode(s)) == s for valid UTF-8 on every family,
// and no panic and valid UTF-8 output on arbitrary bytes.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range fuzzTexts {
		f.Add(s)
	}
	spm := load(f, fixture(f, "llama2/tokenizer.model"))
	l3 := load(f, fixture(f, "llama3/tokenizer.model"))
	l2c := load(f, fixture(f, "llama2/tokenizer.bin"))
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range []struct {
			name string
			tok  Tokenizer
			opt  EncodeOptions
		}{
			{"spm", spm, EncodeOptions{}},
			{"spm+bos+special", spm, EncodeOptions{AddBOS: true, ParseSpecial: true}},
			{"llama3", l3, EncodeOptions{}},
			{"llama3+special", l3, EncodeOptions{AddBOS: true, AddEOS: true, ParseSpecial: true}},
			// run.c strips the dummy-prefix space only after BOS
			{"llama2c+bos", l2c, EncodeOptions{AddBOS: true}},
		} {
			ids := c.tok.Encode(s, c.opt)
			for _, id := range ids {
				if id < 0 || id >= c.tok.VocabSize() {
					t.Fatalf("%s: id %d out of range", c.name, id)
				}
			}
			got := c.tok.Decode(ids)
			if !utf8.ValidString(got) {
				t.Fatalf("%s: Decode gave invalid UTF-8 %q", c.name, got)
			}
			want := s
			if c.name == "llama3+special" {
				want = "<|begin_of_text|>" + s + "<|end_of_text|>"
			}
			// SentencePiece renders parsed control tokens as nothing and
			// <unk> as " ⁇ ".
			lossy := c.name == "spm+bos+special" &&
				(strings.Contains(s, "<s>") || strings.Contains(s, "</s>") || strings.Contains(s, "<unk>"))
			if utf8.ValidString(s) && !lossy && got != want {
				t.Fatalf("%s: Decode(Encode(%q)) = %q (ids %v)", c.name, s, got, ids)
			}
			checkStream(t, c.name, c.tok, ids)
		}
	})
}

// checkStream: the stream decoder's pieces are valid UTF-8 and concatenate
// to Decode.
func checkStream(t *testing.T, name string, tok Tokenizer, ids []int) {
	d := NewStreamDecoder(tok)
	var b strings.Builder
	for _, id := range ids {
		s := d.Add(id)
		if !utf8.ValidString(s) {
			t.Fatalf("%s: stream emitted invalid UTF-8 %q", name, s)
		}
		b.WriteString(s)
	}
	b.WriteString(d.Flush())
	if want := tok.Decode(ids); b.String() != want {
		t.Fatalf("%s: stream %q != Decode %q (ids %v)", name, b.String(), want, ids)
	}
}

// FuzzStreamIDs decodes arbitrary id sequences (byte tokens, control tokens,
// partial characters) both ways.
func FuzzStreamIDs(f *testing.F) {
	f.Add([]byte{243 - 3, 162 - 3, 1, 169 - 3, 156 - 3, 10, 200})
	f.Add([]byte{0, 1, 2, 3, 4, 5})
	f.Add([]byte{0xF0, 0x9F, 0x99, 0xFF, 0x41})
	spm := load(f, fixture(f, "llama2/tokenizer.model"))
	l3 := load(f, fixture(f, "llama3/tokenizer.model"))
	l2c := load(f, fixture(f, "stories260K/tok512.bin"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// SentencePiece: small ids are control/byte tokens, so map bytes
		// near them; Llama 3: single-byte tokens are ids 0..255 in rank
		// order, so bytes hit partial UTF-8 sequences too.
		var a, c, d []int
		for i, x := range b {
			a = append(a, int(x)+3*(i%2))
			c = append(c, int(x))
			d = append(d, int(x)*2)
		}
		checkStream(t, "spm", spm, a)
		checkStream(t, "llama3", l3, c)
		checkStream(t, "llama2c", l2c, d)
	})
}

// FuzzLoad feeds arbitrary bytes to the format sniffer and parsers: an
// error or a working tokenizer, never a panic.
func FuzzLoad(f *testing.F) {
	f.Add([]byte("SGVsbG8= 0\nIQ== 1\n"))
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]},"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"use_regex":true},"added_tokens":[{"id":3,"content":"<x>","special":true}]}`))
	f.Add([]byte{0x0A, 0x0B, 0x0A, 0x05, '<', 'u', 'n', 'k', '>', 0x15, 0, 0, 0, 0})
	for _, p := range []string{"stories260K/tok512.model", "stories260K/tok512.bin"} {
		if b, err := os.ReadFile(filepath.Join(fixture(f, p))); err == nil {
			f.Add(b)
		}
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) >= 4 && string(b[:4]) == "GGUF" {
			return // internal/gguf has its own fuzz target
		}
		tok, err := loadBytes(filepath.Join(dir, "x"), b)
		if err != nil {
			return
		}
		for _, s := range fuzzTexts {
			ids := tok.Encode(s, EncodeOptions{AddBOS: true, AddEOS: true, ParseSpecial: true})
			_ = tok.Decode(ids)
			_ = tok.Decode([]int{-1, 0, 1, tok.VocabSize(), 1 << 40})
		}
	})
}
