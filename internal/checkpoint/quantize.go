package checkpoint

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"unsafe"

	"github.com/bayling-go/bayling/internal/gguf"
	"github.com/bayling-go/bayling/internal/tensor"
)

// FileType is a llama.cpp llama_ftype: the quantization of a whole model,
// stored as general.file_type.
type FileType struct {
	Name string
	ID   uint32       // llama_ftype value
	Base tensor.DType // the type of most 2-D weights
	// Mix applies llama.cpp's per-tensor choice (llama_tensor_get_type);
	// without it every quantizable tensor gets Base ("--pure").
	Mix bool
}

// FileTypes lists the types bayling can write. q4_k is llama-quantize
// --pure Q4_K_S (every matrix Q4_K); the others match llama-quantize's
// same-named types tensor for tensor.
var FileTypes = []FileType{
	{"f32", 0, tensor.F32, false},
	{"f16", 1, tensor.F16, false},
	{"bf16", 32, tensor.BF16, false},
	{"q8_0", 7, tensor.Q8_0, true},
	{"q4_0", 2, tensor.Q4_0, true},
	{"q4_k", 14, tensor.Q4_K, false},
	{"q4_k_m", 15, tensor.Q4_K, true},
	{"q6_k", 18, tensor.Q6_K, true},
}

// ParseFileType finds a FileType by name (case-insensitive).
func ParseFileType(s string) (FileType, error) {
	for _, f := range FileTypes {
		if strings.EqualFold(f.Name, s) {
			return f, nil
		}
	}
	names := make([]string, len(FileTypes))
	for i, f := range FileTypes {
		names[i] = f.Name
	}
	return FileType{}, fmt.Errorf("unknown type %q (want %s)", s, strings.Join(names, ", "))
}

// quantState is llama.cpp's quantize_state_impl: counters that make the
// choice for attn_v / ffn_down depend on the layer.
type quantState struct {
	nAttnV, iAttnV int
	nLayer, iDown  int
	hasOutput      bool
}

// useMoreBits is llama.cpp's use_more_bits: the first and last eighth of
// the layers and every third one between get more bits.
func useMoreBits(i, n int) bool {
	return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2
}

// shouldQuantize mirrors llama_model_quantize_impl's filter for llama
// models: weights of two or more dimensions, except norms.
func shouldQuantize(name string, dims int) bool {
	return strings.HasSuffix(name, "weight") && dims >= 2 && !strings.Contains(name, "_norm.weight")
}

// tensorType is llama_tensor_get_type restricted to the llama architecture
// and the file types above (no experts, no imatrix, not 70B).
func (qs *quantState) tensorType(ft FileType, name string, ne0 int) (tensor.DType, error) {
	t := ft.Base
	switch {
	case name == "output.weight" || (!qs.hasOutput && name == "token_embd.weight"):
		if ne0%t.BlockElems() != 0 {
			t = tensor.Q8_0
		} else if t != tensor.Q8_0 {
			t = tensor.Q6_K
		}
	case name == "token_embd.weight":
	case strings.Contains(name, "attn_v.weight"):
		if ft.ID == 15 && useMoreBits(qs.iAttnV, qs.nAttnV) {
			t = tensor.Q6_K
		}
		qs.iAttnV++
	case strings.Contains(name, "ffn_down"):
		if ft.ID == 15 && useMoreBits(qs.iDown, qs.nLayer) {
			t = tensor.Q6_K
		}
		qs.iDown++
	}
	if ne0%t.BlockElems() != 0 {
		// llama.cpp's fallback for rows that do not fill whole blocks
		switch t {
		case tensor.Q4_K:
			t = tensor.Q5_0
		case tensor.Q6_K:
			t = tensor.Q8_0
		default: // llama-quantize fails here too
			return t, fmt.Errorf("tensor %q: rows of %d values do not fill %s blocks of %d", name, ne0, t, t.BlockElems())
		}
		if ne0%t.BlockElems() != 0 {
			t = tensor.F16
		}
	}
	return t, nil
}

// ggufOrder sorts tensor names as llama.cpp's model loader does
// (weight_name_comparer): by block number (non-block tensors first), then
// by name. llama-quantize visits and writes tensors in this order.
func ggufOrder(a, b string) int {
	la, lb := blockOf(a), blockOf(b)
	if la != lb {
		return la - lb
	}
	return strings.Compare(a, b)
}

func blockOf(name string) int {
	var l int
	if n, _ := fmt.Sscanf(name, "blk.%d.", &l); n == 1 {
		return l
	}
	return -1
}

// QuantPlan is the type chosen for each tensor.
type QuantPlan struct {
	Names []string // in output order
	Types []tensor.DType
}

// PlanQuantize chooses each tensor's type for file type ft, in the order
// and by the rules of llama-quantize. tensors holds (name, dims, ne0, type)
// of the source; nLayer is llama.block_count.
func PlanQuantize(infos []gguf.TensorInfo, nLayer int, ft FileType) (QuantPlan, error) {
	order := slices.Clone(infos)
	slices.SortStableFunc(order, func(a, b gguf.TensorInfo) int { return ggufOrder(a.Name, b.Name) })
	qs := quantState{nLayer: nLayer}
	for _, t := range order {
		if strings.Contains(t.Name, "attn_v.weight") {
			qs.nAttnV++
		} else if t.Name == "output.weight" {
			qs.hasOutput = true
		}
	}
	var p QuantPlan
	for _, t := range order {
		typ := t.Type
		if shouldQuantize(t.Name, len(t.Dims)) {
			typ = ft.Base
			if ft.Mix && ft.Base.Quantized() {
				var err error
				if typ, err = qs.tensorType(ft, t.Name, int(t.Dims[0])); err != nil {
					return p, err
				}
			} else if ft.Base.Quantized() && int(t.Dims[0])%typ.BlockElems() != 0 {
				return p, fmt.Errorf("tensor %q: rows of %d values do not fill %s blocks of %d", t.Name, t.Dims[0], typ, typ.BlockElems())
			}
		}
		p.Names = append(p.Names, t.Name)
		p.Types = append(p.Types, typ)
	}
	return p, nil
}

// QuantizeGGUF writes src's model to dst with file type ft, tensor by tensor
// (peak memory about two tensors in float32): the metadata is copied with
// general.file_type and general.quantization_version set, as llama-quantize
// does, and the tensors are written in llama-quantize's order.
func QuantizeGGUF(dst, src string, ft FileType) (QuantPlan, error) {
	f, err := gguf.Open(src)
	if err != nil {
		return QuantPlan{}, err
	}
	defer f.Close()
	nLayer, err := f.Uint(f.Arch() + ".block_count")
	if err != nil {
		return QuantPlan{}, err
	}
	plan, err := PlanQuantize(f.Tensors, int(min(nLayer, 1<<20)), ft)
	if err != nil {
		return plan, fmt.Errorf("gguf %s: %s: %w", src, ft.Name, err)
	}
	w := gguf.NewWriter()
	// llama-quantize copies the metadata, then sets these two keys; ggml's
	// gguf_set_val removes a key and appends it, so they end up last.
	for _, kv := range f.KV {
		if kv.Key == "general.quantization_version" || kv.Key == "general.file_type" {
			continue
		}
		if err := w.AddKV(kv.Key, kv.Value); err != nil {
			return plan, fmt.Errorf("gguf %s: %w", src, err)
		}
	}
	w.AddKV("general.quantization_version", uint32(2))
	w.AddKV("general.file_type", ft.ID)
	for i, name := range plan.Names {
		ti, _ := f.TensorInfo(name)
		if err := w.AddTensor(name, plan.Types[i], ti.Shape()); err != nil {
			return plan, fmt.Errorf("gguf %s: %w", dst, err)
		}
	}
	var buf []byte // reused for every tensor, like vals
	var vals []float32
	err = w.WriteFile(dst, func(i int, info gguf.TensorInfo, out io.Writer) error {
		t, err := f.Tensor(info.Name)
		if err != nil {
			return err
		}
		if t.Type == info.Type {
			_, err = out.Write(t.Data)
			return err
		}
		n := tensor.NumElements(t.Shape)
		vals = slices.Grow(vals[:0], n)[:n]
		if err := tensor.Dequantize(vals, t.Data, t.Type); err != nil {
			return fmt.Errorf("gguf %s: tensor %q: %w", src, info.Name, err)
		}
		buf, err = encode(buf, vals, info.Type)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", info.Name, err)
		}
		_, err = out.Write(buf)
		return err
	})
	return plan, err
}

// encode converts float32 values to type t into buf (reused).
func encode(buf []byte, v []float32, t tensor.DType) ([]byte, error) {
	n, err := t.RowBytes(len(v))
	if err != nil {
		return buf, err
	}
	buf = slices.Grow(buf[:0], n)[:n]
	switch t {
	case tensor.F32:
		if len(v) > 0 {
			copy(buf, unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v)))
		}
		return buf, nil
	case tensor.F16, tensor.BF16:
		for i, x := range v {
			var h uint16
			if t == tensor.F16 {
				h = tensor.F32ToF16(x)
			} else {
				h = tensor.F32ToBF16(x)
			}
			buf[2*i], buf[2*i+1] = byte(h), byte(h>>8)
		}
		return buf, nil
	}
	return buf, tensor.QuantizeParallel(buf, v, t, runtime.NumCPU())
}
