package checkpoint

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/gguf"
	"github.com/bayling-go/bayling/internal/model/llama"
	"github.com/bayling-go/bayling/internal/tensor"
	"github.com/bayling-go/bayling/internal/testenv"
)

// mixCases are models with 256-wide rows (so K-quants apply everywhere) and
// enough layers for use_more_bits to pick a pattern: 8 layers untied and 12
// layers tied.
func mixCases() []hfCase {
	base := llama.Config{
		HiddenSize: 256, IntermediateSize: 256, NumAttentionHeads: 2, NumKeyValueHeads: 1,
		RMSNormEps: 1e-5, VocabSize: 256, MaxPositionEmbeddings: 128, BOSTokenID: 1, EOSTokenID: llama.TokenIDs{2},
	}
	untied, tied := base, base
	untied.NumHiddenLayers = 8
	tied.NumHiddenLayers, tied.TieWordEmbeddings = 12, true
	return []hfCase{
		{name: "mix8", cfg: untied, opt: HFWriteOptions{DType: tensor.F32}, seed: 8},
		{name: "mix12tied", cfg: tied, opt: HFWriteOptions{DType: tensor.F32}, seed: 12},
	}
}

// writeMixGGUF converts a mix case to an F16 GGUF (llama-quantize's usual input).
func writeMixGGUF(t testing.TB, hc hfCase) string {
	dir := t.TempDir()
	writeHFCase(t, dir, hc)
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), byteTokenizerJSON(hc.cfg.VocabSize), 0o644); err != nil {
		t.Fatal(err)
	}
	f16, _ := ParseFileType("f16")
	out := filepath.Join(t.TempDir(), hc.name+"-f16.gguf")
	if _, err := ConvertHF(out, dir, ConvertOptions{Type: f16, Name: hc.name}); err != nil {
		t.Fatal(err)
	}
	return out
}

func fileSHA(t testing.TB, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestQuantizeMatchesLlamaQuantize compares our quantize with llama.cpp's
// llama-quantize (c392e50) on the same F16 GGUF: testdata/llama-quantize.txt
// records, per case and type, llama-quantize's tensor types and the sha256
// of its whole output file. Ours must give the same types and the same
// bytes. With BAYLING_LLAMA_QUANTIZE=path/to/llama-quantize the test runs
// it live instead and rewrites the golden.
func TestQuantizeMatchesLlamaQuantize(t *testing.T) {
	golden := readQuantGolden(t)
	live := os.Getenv("BAYLING_LLAMA_QUANTIZE")
	var rec bytes.Buffer
	type source struct{ name, path string }
	var sources []source
	for _, hc := range mixCases() {
		sources = append(sources, source{hc.name, writeMixGGUF(t, hc)})
	}
	// llama.cpp's own F32 stories260K: 64/172-wide rows exercise the
	// fallbacks (Q4_K -> Q5_0 -> F16, Q6_K -> Q8_0).
	sources = append(sources, source{"stories260K", testenv.SharedPath(t, "fixtures", "gguf", "stories260K.llamacpp-c392e50.gguf")})
	for _, s := range sources {
		src := s.path
		types := []string{"q4_k_m", "q8_0", "q4_0", "q6_k"}
		if s.name == "stories260K" {
			// 172-wide ffn rows have no Q8_0/Q4_0 fallback: llama-quantize
			// fails on those types, as we do (TestQuantizeRefusesLikeLlamaQuantize).
			types = []string{"q4_k_m", "q6_k"}
		}
		for _, typ := range types {
			ft, _ := ParseFileType(typ)
			key := s.name + " " + typ
			ours := filepath.Join(t.TempDir(), "ours.gguf")
			plan, err := QuantizeGGUF(ours, src, ft)
			if err != nil {
				t.Fatal(err)
			}
			var want quantGolden
			if live != "" {
				theirs := filepath.Join(t.TempDir(), "theirs.gguf")
				cmd := exec.Command(live, src, theirs, strings.ToUpper(typ))
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%s: %v\n%s", live, err, out)
				}
				want = quantGolden{sha: fileSHA(t, theirs), types: ggufTypes(t, theirs)}
				fmt_ := key + " sha256 " + want.sha + "\n"
				for _, l := range want.types {
					fmt_ += key + " " + l + "\n"
				}
				rec.WriteString(fmt_)
			} else {
				var ok bool
				if want, ok = golden[key]; !ok {
					t.Fatalf("no golden for %s", key)
				}
			}
			got := ggufTypes(t, ours)
			if strings.Join(got, "\n") != strings.Join(want.types, "\n") {
				t.Errorf("%s: tensor types differ from llama-quantize:\nours   %v\ntheirs %v", key, got, want.types)
			}
			if sha := fileSHA(t, ours); sha != want.sha {
				t.Errorf("%s: file sha256 %s, llama-quantize %s", key, sha, want.sha)
			}
			n6 := 0
			for _, ty := range plan.Types {
				if ty == tensor.Q6_K {
					n6++
				}
			}
			t.Logf("%s: %d tensors, %d Q6_K, checked against llama-quantize", key, len(plan.Types), n6)
		}
	}
	if live != "" {
		if err := os.WriteFile("testdata/llama-quantize.txt", rec.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type quantGolden struct {
	sha   string
	types []string
}

func readQuantGolden(t *testing.T) map[string]quantGolden {
	m := map[string]quantGolden{}
	b, err := os.ReadFile("testdata/llama-quantize.txt")
	if err != nil {
		if os.Getenv("BAYLING_LLAMA_QUANTIZE") != "" {
			return m
		}
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 {
			continue
		}
		key := f[0] + " " + f[1]
		g := m[key]
		if f[2] == "sha256" {
			g.sha = f[3]
		} else {
			g.types = append(g.types, f[2]+" "+f[3])
		}
		m[key] = g
	}
	return m
}

// ggufTypes lists "name TYPE" for each tensor in file order.
func ggufTypes(t testing.TB, p string) []string {
	f, err := gguf.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	for _, ti := range f.Tensors {
		out = append(out, ti.Name+" "+ti.Type.String())
	}
	return out
}

func TestQuantizeRefusesLikeLlamaQuantize(t *testing.T) {
	src := testenv.SharedPath(t, "fixtures", "gguf", "stories260K.llamacpp-c392e50.gguf")
	for typ, want := range map[string]string{"q8_0": `"blk.0.ffn_down.weight": rows of 172 values`, "q4_0": `"blk.0.ffn_down.weight": rows of 172 values`, "q4_k": `"output.weight": rows of 64 values`} {
		ft, _ := ParseFileType(typ)
		dst := filepath.Join(t.TempDir(), "out.gguf")
		_, err := QuantizeGGUF(dst, src, ft)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %s", typ, err, want)
		}
		if _, serr := os.Stat(dst); serr == nil {
			t.Errorf("%s: output written despite the error", typ)
		}
	}
}
