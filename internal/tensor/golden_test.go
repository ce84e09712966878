package tensor

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Golden data produced by llama.cpp's ggml (see testdata/ggml/README.md).
const goldenDir = "testdata/ggml"

func readGolden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func floats(b []byte) []float32 {
	f := make([]float32, len(b)/4)
	for i := range f {
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return f
}

var goldenTypes = []DType{F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K}

// rowKinds names the 256-element input rows (see the README).
var rowKinds = []string{"zeros", "const 0.5", "const -3.25", "N(0,1)", "N(0,.02)", "N(0,100)",
	"U(-1,1)", "U(0,1)", "U(-2,-1)", "outliers", "spikes", "N(0,1e-6)", "N(0,1e-16)", "N(0,3e6)",
	"N(0,7e4)", "±1", "ints -8..7", "half-zero blocks", "ramp", "5+N(0,1)", "heavy tail",
	"f16 ties", "sparse", "N(0,1) #2"}

func TestQuantizeMatchesGGML(t *testing.T) {
	x := floats(readGolden(t, "input.f32"))
	if len(x) != len(rowKinds)*256 {
		t.Fatalf("input has %d floats", len(x))
	}
	for _, typ := range goldenTypes {
		want := readGolden(t, "q_"+typ.String()+".bin")
		got := make([]byte, len(want))
		if err := Quantize(got, x, typ); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		rb, _ := typ.RowBytes(256)
		for r := range rowKinds {
			g, w := got[r*rb:(r+1)*rb], want[r*rb:(r+1)*rb]
			if string(g) != string(w) {
				i := 0
				for g[i] == w[i] {
					i++
				}
				t.Errorf("%s row %d (%s): bytes differ from ggml, first at byte %d: %#x vs %#x", typ, r, rowKinds[r], i, g[i], w[i])
			}
		}
	}
}

func TestDequantizeMatchesGGML(t *testing.T) {
	for _, typ := range append(goldenTypes, Q8_K) {
		if typ == F16 || typ == BF16 {
			continue // covered exhaustively by TestConversionsMatchGGML
		}
		sets := []string{"q_%s.bin|dq_%s.f32", "rand_%s.bin|rand_%s.f32"}
		if typ == Q8_K {
			sets = sets[1:] // ggml has no Q8_K row quantizer in ggml_quantize_chunk
		}
		for _, set := range sets {
			names := strings.Split(fmt.Sprintf(set, typ, typ), "|")
			src := readGolden(t, names[0])
			want := floats(readGolden(t, names[1]))
			got := make([]float32, len(want))
			if err := Dequantize(got, src, typ); err != nil {
				t.Fatalf("%s: %v", names[0], err)
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Errorf("%s: element %d = %v, ggml %v", names[0], i, got[i], want[i])
					break
				}
			}
		}
	}
}

// conversionPatterns are the float32 bit patterns the harness converted:
// (j<<12)|{0, 1, 0xfff} and j*4099 for j < 2^20.
func conversionPatterns() []uint32 {
	p := make([]uint32, 4<<20)
	for j := uint32(0); j < 1<<20; j++ {
		p[4*j], p[4*j+1], p[4*j+2], p[4*j+3] = j<<12, j<<12|1, j<<12|0xfff, j*4099
	}
	return p
}

func TestConversionsMatchGGML(t *testing.T) {
	want := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(readGolden(t, "conversions.sha256"))))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		want[f[1]] = f[0]
	}
	check := func(name string, out []byte) {
		t.Helper()
		sum := sha256.Sum256(out)
		if got := hex.EncodeToString(sum[:]); got != want[name] {
			t.Errorf("%s: sha256 %s, ggml %s", name, got, want[name])
		}
	}
	all := make([]byte, 4*65536)
	for i := 0; i < 65536; i++ {
		binary.LittleEndian.PutUint32(all[4*i:], math.Float32bits(F16ToF32(uint16(i))))
	}
	check("f16_to_f32_all.bin", all)
	for i := 0; i < 65536; i++ {
		binary.LittleEndian.PutUint32(all[4*i:], math.Float32bits(BF16ToF32(uint16(i))))
	}
	check("bf16_to_f32_all.bin", all)
	p := conversionPatterns()
	h, b := make([]byte, 2*len(p)), make([]byte, 2*len(p))
	for i, bits := range p {
		f := math.Float32frombits(bits)
		binary.LittleEndian.PutUint16(h[2*i:], F32ToF16(f))
		binary.LittleEndian.PutUint16(b[2*i:], F32ToBF16(f))
	}
	check("f32_to_f16_patterns.bin", h)
	check("f32_to_bf16_patterns.bin", b)
}
