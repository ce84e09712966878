package metrics

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// protobuf writers for building small SentencePiece models in tests.
func pbVarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }
func pbBytes(b []byte, num int, d []byte) []byte {
	b = pbVarint(b, uint64(num<<3|2))
	b = pbVarint(b, uint64(len(d)))
	return append(b, d...)
}
func pbUint(b []byte, num int, v uint64) []byte { return pbVarint(pbVarint(b, uint64(num<<3)), v) }

type testPiece struct {
	text  string
	score float32
	typ   uint64
}

func buildSPM(pieces []testPiece, byteFallback, removeExtraWS bool) []byte {
	var m []byte
	for _, p := range pieces {
		var e []byte
		e = pbBytes(e, 1, []byte(p.text))
		e = pbVarint(e, 2<<3|5)
		e = binary.LittleEndian.AppendUint32(e, math.Float32bits(p.score))
		e = pbUint(e, 3, p.typ)
		m = pbBytes(m, 1, e)
	}
	var tr []byte
	tr = pbUint(tr, 3, 1) // unigram
	if byteFallback {
		tr = pbUint(tr, 35, 1)
	}
	m = pbBytes(m, 2, tr)
	var norm []byte
	norm = pbBytes(norm, 1, []byte("identity"))
	norm = pbUint(norm, 3, 1)
	if !removeExtraWS {
		norm = pbUint(norm, 4, 0)
	}
	return pbBytes(m, 3, norm)
}

func testModel() []testPiece {
	return []testPiece{
		{"<unk>", 0, spmUnknown}, {"<s>", 0, spmControl}, {"</s>", 0, spmControl},
		{"▁", -3, spmNormal}, {"▁a", -2, spmNormal}, {"▁ab", -1, spmNormal}, {"a", -2.5, spmNormal},
		{"b", -2, spmNormal}, {"c", -4, spmNormal}, {"bc", -4.5, spmNormal}, {"abc", -9, spmNormal},
		{"<sep>", 0, spmUserDefined}, {"zz", -1, spmUnused},
	}
}

func TestSPMUnigramViterbi(t *testing.T) {
	m, err := ParseSPM(buildSPM(testModel(), false, true))
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string][]string{
		"ab":        {"▁ab"},              // -1 beats ▁a+b (-4)
		"abc":       {"▁ab", "c"},         // -5 beats ▁a+bc (-6.5) and ▁+abc (-12)
		"  a   b  ": {"▁a", "▁", "b"},     // whitespace collapsed, dummy prefix
		"axy":       {"▁a", "xy"},         // unknown pieces merged
		"a<sep>b":   {"▁a", "<sep>", "b"}, // user-defined symbol kept whole
		"zz":        {"▁", "zz"},          // unused pieces are never chosen: z, z unknown and merged
		"":          nil,
		"   ":       nil,
		"b\u00e9c":  {"▁", "b", "\u00e9", "c"}, // no charsmap: é stays as is, unknown
	} {
		if got := m.EncodeAsPieces(in); !reflect.DeepEqual(got, want) {
			t.Errorf("EncodeAsPieces(%q) = %q, want %q", in, got, want)
		}
	}

	withBytes := testModel()
	for _, b := range []string{"<0x78>", "<0x79>"} {
		withBytes = append(withBytes, testPiece{b, 0, spmByte})
	}
	m, err = ParseSPM(buildSPM(withBytes, true, false))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.EncodeAsPieces("a  xy"), []string{"▁a", "▁", "▁", "<0x78>", "<0x79>"}; !reflect.DeepEqual(got, want) {
		t.Errorf("byte fallback, kept spaces: %q, want %q", got, want)
	}
}

func TestSPMTokenizerAndErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tiny.model")
	if err := os.WriteFile(path, buildSPM(testModel(), false, true), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := NewTokenizer("flores200", path)
	if err != nil {
		t.Fatal(err)
	}
	if got := Tokenize(tok, "ab abc"); got != "▁ab ▁ab c" || tok.Signature() != "flores200" {
		t.Errorf("flores200 tokenizer: %q (%s)", got, tok.Signature())
	}
	if tok, err := NewTokenizer("spm", path); err != nil || tok.Signature() != "flores101" {
		t.Errorf("spm alias: %v %v", tok, err)
	}
	t.Setenv("SACREBLEU", dir)
	if _, err := NewTokenizer("flores101", ""); err == nil || !strings.Contains(err.Error(), "sacrebleu_tokenizer_spm.model") {
		t.Errorf("missing default model: %v", err)
	}

	good := buildSPM(testModel(), false, true)
	for name, data := range map[string][]byte{
		"truncated":   good[:len(good)-3],
		"bpe":         append(append([]byte(nil), good...), pbBytes(nil, 2, pbUint(nil, 3, 2))...),
		"no unk":      buildSPM([]testPiece{{"a", -1, spmNormal}}, false, true),
		"empty piece": pbBytes(nil, 1, pbBytes(nil, 1, nil)),
		"bad wire":    {0x0f},
	} {
		if _, err := ParseSPM(data); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzParseSPM(f *testing.F) {
	f.Add(buildSPM(testModel(), false, true), "ab c")
	f.Add(buildSPM(testModel(), true, false), "  x<sep>y ")
	f.Fuzz(func(t *testing.T, data []byte, text string) {
		m, err := ParseSPM(data)
		if err != nil {
			return
		}
		m.EncodeAsPieces(text)
	})
}
