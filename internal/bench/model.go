package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/bayling-go/bayling/internal/model/llama"
)

// Params counts the model's weights, each tied matrix once.
func Params(w *llama.Weights) int64 {
	n := int64(w.TokenEmbd.Rows*w.TokenEmbd.Cols + len(w.OutputNorm) + len(w.RopeFactors))
	if !tied(w) {
		n += int64(w.Output.Rows * w.Output.Cols)
	}
	for _, l := range w.Layers {
		n += int64(len(l.AttnNorm) + len(l.FFNNorm))
		for _, m := range layerMats(&l) {
			n += int64(m.Rows * m.Cols)
		}
	}
	return n
}

// BytesPerToken is the weight memory one decode step must read: every
// layer matrix, the output matrix, the norms and one embedding row. The
// KV cache reads (a few MB at tg128 positions) are left out. Memory
// bandwidth divided by this is the decode roofline.
func BytesPerToken(w *llama.Weights) int64 {
	n := int64(len(w.Output.Data) + 4*len(w.OutputNorm))
	n += int64(len(w.TokenEmbd.Data) / w.TokenEmbd.Rows)
	for _, l := range w.Layers {
		n += int64(4 * (len(l.AttnNorm) + len(l.FFNNorm)))
		for _, m := range layerMats(&l) {
			n += int64(len(m.Data))
		}
	}
	return n
}

// KVBytes is the KV cache size of ctx positions with elem-byte elements.
func KVBytes(c llama.Config, ctx, elem int) int64 {
	return int64(2*c.NumHiddenLayers*c.KVDim()*ctx) * int64(elem)
}

func tied(w *llama.Weights) bool {
	a, b := w.TokenEmbd.Data, w.Output.Data
	return len(a) > 0 && len(b) > 0 && &a[0] == &b[0]
}

func layerMats(l *llama.Layer) []llama.Mat {
	return []llama.Mat{l.Wq, l.Wk, l.Wv, l.Wo, l.Gate, l.Up, l.Down}
}

// PeakRSS is the process's peak resident set (VmHWM of
// /proc/self/status), mapped weight pages included.
func PeakRSS() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("bench: peak RSS: %w", err)
	}
	return parseVmHWM(string(b))
}

func parseVmHWM(status string) (int64, error) {
	for _, line := range strings.Split(status, "\n") {
		v, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: VmHWM %q: %w", v, err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("bench: no VmHWM line in /proc/self/status")
}
