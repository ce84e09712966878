package train

import (
	"math"
	"testing"
	"unsafe"

	"github.com/bayling-go/bayling/internal/kernels"
	"github.com/bayling-go/bayling/internal/safetensors"
	"github.com/bayling-go/bayling/internal/tensor"
)

// TestTorchReference replays tools/torch_train_reference.py: same initial
// weights (SplitMix64), two packed micro-batches accumulated per step,
// clip_grad_norm_ 1.0 and AdamW over a warm-up+cosine schedule for 3 steps.
// Losses, the step-3 gradients and the final weights must agree with
// PyTorch's float64 autograd/AdamW within 1e-4 relative (per tensor, L2).
func TestTorchReference(t *testing.T) {
	f, err := safetensors.Open("testdata/torch_reference.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	read := func(name string) []float64 {
		tt, err := f.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float64, 0)
		switch tt.Type {
		case tensor.F32:
			for _, v := range unsafe.Slice((*float32)(unsafe.Pointer(&tt.Data[0])), len(tt.Data)/4) {
				out = append(out, float64(v))
			}
		case tensor.F64:
			out = append(out, unsafe.Slice((*float64)(unsafe.Pointer(&tt.Data[0])), len(tt.Data)/8)...)
		default:
			t.Fatalf("%s: type %v", name, tt.Type)
		}
		return out
	}
	pool := kernels.NewPool(2)
	defer pool.Close()
	n, b1 := tinyNet(t, pool)
	b2 := tinyBatch(3, 64)
	sched := Schedule{LR: 1e-2, MinLR: 1e-3, Warmup: 1, Total: 3}
	opt := NewAdamW(n.P.List, 0.9, 0.95, 1e-8, 0.1)
	wantLoss := read("loss")
	total := b1.LossTokens() + b2.LossTokens()
	for step := 0; step < 3; step++ {
		n.P.ZeroGrad()
		var sum float64
		for _, b := range []*Batch{b1, b2} {
			s, _, err := n.Step(b, 1/float32(total))
			if err != nil {
				t.Fatal(err)
			}
			sum += s
		}
		checkRel(t, "loss", []float64{sum / float64(total)}, wantLoss[step:step+1], 1e-5)
		if step == 2 {
			for _, p := range n.P.List {
				checkRel(t, "grad."+p.Name, f64(p.G), read("grad."+p.Name), 1e-4)
			}
		}
		ClipGrad(n.P.List, 1)
		opt.Update(n.P.List, sched.At(step))
	}
	for _, p := range n.P.List {
		checkRel(t, "final."+p.Name, f64(p.W), read("final."+p.Name), 1e-4)
	}
	s1, c1, _ := n.Loss(b1)
	s2, c2, _ := n.Loss(b2)
	checkRel(t, "loss after 3 steps", []float64{(s1 + s2) / float64(c1+c2)}, wantLoss[3:], 1e-5)
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// checkRel compares got with want by ‖got−want‖/‖want‖.
func checkRel(t *testing.T, name string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, reference has %d", name, len(got), len(want))
	}
	var num, den float64
	for i := range got {
		num += (got[i] - want[i]) * (got[i] - want[i])
		den += want[i] * want[i]
	}
	rel := math.Sqrt(num / den)
	if testing.Verbose() {
		t.Logf("%-30s rel err %.2e", name, rel)
	}
	if !(rel <= tol) {
		t.Errorf("%s: rel err %.3g > %g", name, rel, tol)
	}
}
