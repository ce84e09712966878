package checkpoint

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/bayling-go/bayling/internal/tensor"
)

// SaveHF -> OpenHF gives back every tensor (F16 rounding aside), in the
// forward layout, and writes the files transformers expects.
func TestSaveHFRoundTrip(t *testing.T) {
	for _, dt := range []tensor.DType{tensor.F32, tensor.F16, tensor.BF16} {
		t.Run(dt.String(), func(t *testing.T) {
			hc := hfCases()[0]
			hc.opt = HFWriteOptions{DType: dt, ShardBytes: 60000}
			dir := t.TempDir()
			want := writeHFCase(t, dir, hc)
			h, err := OpenHF(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			if h.TorchDType != map[tensor.DType]string{tensor.F32: "float32", tensor.F16: "float16", tensor.BF16: "bfloat16"}[dt] {
				t.Errorf("torch_dtype %q", h.TorchDType)
			}
			for _, name := range h.TensorNames() {
				got, _, err := h.Float32(name)
				if err != nil {
					t.Fatal(err)
				}
				for i, w := range want[name] {
					r := roundTo(w, dt)
					if got[i] != r {
						t.Fatalf("%s[%d] = %g, want %g", name, i, got[i], r)
					}
				}
			}
			var idx struct {
				Metadata struct {
					TotalSize int64 `json:"total_size"`
				}
				WeightMap map[string]string `json:"weight_map"`
			}
			b, err := os.ReadFile(filepath.Join(dir, "model.safetensors.index.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &idx); err != nil {
				t.Fatal(err)
			}
			if len(idx.WeightMap) != len(h.TensorNames()) || idx.WeightMap["lm_head.weight"] == "" || idx.Metadata.TotalSize <= 0 {
				t.Fatalf("index: %d entries, total %d", len(idx.WeightMap), idx.Metadata.TotalSize)
			}
		})
	}
}

func roundTo(f float32, t tensor.DType) float32 {
	switch t {
	case tensor.F16:
		return tensor.F16ToF32(tensor.F32ToF16(f))
	case tensor.BF16:
		return tensor.BF16ToF32(tensor.F32ToBF16(f))
	}
	return f
}

func TestSaveHFRejects(t *testing.T) {
	hc := hfCases()[1]
	dir := t.TempDir()
	err := SaveHF(dir, hc.cfg, HFWriteOptions{DType: tensor.Q8_0}, nil)
	if err == nil {
		t.Fatal("Q8_0 accepted")
	}
	bad := hc.cfg
	bad.NumAttentionHeads = 5
	if err := SaveHF(dir, bad, HFWriteOptions{}, nil); err == nil {
		t.Fatal("invalid config accepted")
	}
	short := func(name string) ([]float32, error) { return make([]float32, 3), nil }
	if err := SaveHF(dir, hc.cfg, HFWriteOptions{}, short); err == nil {
		t.Fatal("wrong tensor size accepted")
	}
	if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err == nil {
		t.Fatal("partial model.safetensors left behind")
	}
}
