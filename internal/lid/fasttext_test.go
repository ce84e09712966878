package lid

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

type ftCase struct {
	Text   *string `json:"text"`
	Flores string  `json:"flores"` // "eng_Latn.devtest:12": line 12 of that FLORES devtest file
	Pred   [][2]any
}

// The models and predictions in testdata/fasttext come from the real
// fastText (see testdata/fasttext/README.md): softmax, hierarchical softmax
// and one-vs-all losses, with char n-grams and word n-grams.
func TestFastTextMatchesReference(t *testing.T) {
	for _, name := range []string{"sm", "hs", "ova"} {
		t.Run(name, func(t *testing.T) {
			m, err := LoadFastText(filepath.Join("testdata", "fasttext", name+".bin"))
			if err != nil {
				t.Fatal(err)
			}
			cases := readGolden(t, filepath.Join("testdata", "fasttext", name+".golden.jsonl"))
			checked := 0
			for _, c := range cases {
				text := ""
				switch {
				case c.Text != nil:
					text = *c.Text
				default:
					text = floresLine(t, c.Flores)
				}
				got := m.PredictK(text, len(c.Pred))
				if len(got) != len(c.Pred) {
					t.Errorf("%q: %d predictions, fastText gave %d", text, len(got), len(c.Pred))
					continue
				}
				for i, p := range c.Pred {
					label, prob := p[0].(string), p[1].(float64)
					if got[i].Label != label || math.Abs(got[i].Prob-prob) > 2e-5*math.Max(prob, 1e-3) {
						t.Errorf("%q: #%d = %s %.6g, fastText %s %.6g", text, i, got[i].Label, got[i].Prob, label, prob)
					}
				}
				checked++
			}
			if checked < 100 {
				t.Errorf("only %d cases checked", checked)
			}
		})
	}
}

func readGolden(t *testing.T, path string) []ftCase {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []ftCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var c ftCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, c)
	}
	return out
}

var floresCache = map[string][]string{}

func floresLine(t *testing.T, ref string) string {
	t.Helper()
	file, n, _ := strings.Cut(ref, ":")
	lines, ok := floresCache[file]
	if !ok {
		b, err := os.ReadFile(filepath.Join(sharedDir(t), "evaldata", "flores200", "devtest", file))
		if err != nil {
			t.Fatal(err)
		}
		lines = strings.Split(string(b), "\n")
		floresCache[file] = lines
	}
	i, _ := strconv.Atoi(n)
	return lines[i-1]
}

func TestFastTextHashing(t *testing.T) {
	// fastText hashes bytes sign-extended: "é" (0xC3 0xA9) differs from an
	// unsigned FNV-1a.
	if got, want := ftHash(""), uint32(2166136261); got != want {
		t.Errorf("hash(\"\") = %d", got)
	}
	var fnv uint32 = 2166136261
	for _, b := range []byte("é") {
		fnv = (fnv ^ uint32(b)) * 16777619
	}
	if ftHash("é") == fnv {
		t.Error("hash of non-ASCII bytes must sign-extend like fastText")
	}
	if ftHash("abc") != func() uint32 {
		h := uint32(2166136261)
		for _, b := range []byte("abc") {
			h = (h ^ uint32(b)) * 16777619
		}
		return h
	}() {
		t.Error("ASCII hash must equal FNV-1a")
	}
}

func TestFastTextRejectsBadFiles(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "fasttext", "sm.bin"))
	if err != nil {
		t.Fatal(err)
	}
	quant := bytes.Clone(good)
	// The quant flag follows the dictionary; find it by re-reading up to it.
	r := &ftReader{r: bufio.NewReader(bytes.NewReader(good))}
	m := &FastText{labelPrefix: "__label__"}
	r.read(4 + 4 + 12*4 + 8)
	if err := m.readDict(r, int64(len(good))); err != nil {
		t.Fatal(err)
	}
	quant[r.off] = 1
	cases := map[string]struct {
		data []byte
		want string
	}{
		"empty":     {nil, "offset 0: unexpected EOF"},
		"magic":     {append([]byte{1, 2, 3, 4}, good[4:]...), "not a fastText model"},
		"version":   {append(append(bytes.Clone(good[:4]), 99, 0, 0, 0), good[8:]...), "unsupported fastText file version 99"},
		"truncated": {good[:len(good)/2], "offset"},
		"trailing":  {append(bytes.Clone(good), 0), "trailing bytes"},
		"quantized": {quant, "quantized fastText models (.ftz) are not supported"},
	}
	for name, c := range cases {
		path := filepath.Join(t.TempDir(), name+".bin")
		if err := os.WriteFile(path, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadFastText(path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v; want it to name the file and contain %q", name, err, c.want)
		}
	}
}

func FuzzLoadFastText(f *testing.F) {
	good, err := os.ReadFile(filepath.Join("testdata", "fasttext", "hs.bin"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good[:4096])
	f.Add(good[:200])
	small := tinyFastText()
	f.Add(small)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := readFastText(bufio.NewReader(bytes.NewReader(data)), int64(len(data)))
		if err != nil {
			return
		}
		m.PredictK("fuzz the predictor too, é 中文", 3)
	})
}

// tinyFastText builds a complete, valid 2-label softmax model by hand:
// one word "hi", bucket 3, dim 2.
func tinyFastText() []byte {
	var b bytes.Buffer
	w := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	w(int32(ftMagic))
	w(int32(12))
	for _, v := range []int32{2, 5, 5, 1, 5, 2, ftLossSM, ftModelSup, 3, 1, 2, 100} {
		w(v)
	}
	w(float64(1e-4))
	w(int32(3))
	w(int32(1))
	w(int32(2))
	w(int64(10))
	w(int64(-1))
	for _, e := range []struct {
		s string
		t int8
	}{{"hi", 0}, {"__label__a", 1}, {"__label__b", 1}} {
		b.WriteString(e.s)
		b.WriteByte(0)
		w(int64(3))
		w(e.t)
	}
	w(false)
	w(int64(4))
	w(int64(2))
	w([]float32{1, 0, 0, 1, 0.5, 0.5, -1, 2})
	w(false)
	w(int64(2))
	w(int64(2))
	w([]float32{1, 0, 0, 1})
	return b.Bytes()
}

func TestTinyFastTextByHand(t *testing.T) {
	data := tinyFastText()
	m, err := readFastText(bufio.NewReader(bytes.NewReader(data)), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	// "hi" (id 0, row [1 0]) + its n-grams of "<hi>" with minn 1, maxn 2 +
	// "</s>" (unknown: contributes only to word n-grams) + the word bigram.
	s := &ftScratch{hidden: make([]float32, 2), output: make([]float32, 2)}
	m.features(s, "hi")
	var want []int32
	want = append(want, 0)
	for _, g := range []string{"<h", "h", "hi", "i", "i>"} {
		want = append(want, 1+int32(ftHash(g)%3))
	}
	h := uint64(int64(int32(ftHash("hi"))))*116049371 + uint64(int64(int32(ftHash(ftEOS))))
	want = append(want, 1+int32(h%3))
	if !slicesEqual(s.feats, want) {
		t.Fatalf("features %v, want %v", s.feats, want)
	}
	label, p := m.Predict("hi")
	if label != "a" && label != "b" || p <= 0 || p > 1.00001 {
		t.Errorf("Predict = %s %g", label, p)
	}
}

func slicesEqual(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
