package train

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/bayling-go/bayling/internal/atomicfile"
	"github.com/bayling-go/bayling/internal/plot"
	"github.com/bayling-go/bayling/internal/safetensors"
	"github.com/bayling-go/bayling/internal/tensor"
)

// logRow is one line of log.csv.
type logRow struct {
	Step       int      `json:"step"`
	Loss       float64  `json:"loss"`
	LR         float64  `json:"lr"`
	TokensPerS float64  `json:"tokens_per_s"`
	EvalLoss   float64  `json:"-"` // NaN: not evaluated
	EvalJSON   *float64 `json:"eval_loss,omitempty"`
	GradNorm   float64  `json:"grad_norm"`
}

func nan() float64 { return math.NaN() }

// fingerprint identifies the settings a checkpoint is only valid for.
func fingerprint(c *Config) string {
	b, _ := json.Marshal(c)
	return string(b)
}

// save writes the trainable tensors, the optimizer moments and the run
// state to out/checkpoint.safetensors atomically: a kill at any moment
// leaves the previous checkpoint or the new one.
func (r *runner) save() error {
	for i := range r.st.Log {
		row := &r.st.Log[i]
		row.EvalJSON = nil
		if !math.IsNaN(row.EvalLoss) {
			v := row.EvalLoss
			row.EvalJSON = &v
		}
	}
	meta, err := json.Marshal(r.st)
	if err != nil {
		return err
	}
	var entries []safetensors.Entry
	var vals [][]float32
	for k, t := range r.train {
		for _, e := range []struct {
			pre string
			v   []float32
		}{{"w.", t.W}, {"m.", r.opt.M[k]}, {"v.", r.opt.V[k]}} {
			entries = append(entries, safetensors.Entry{Name: e.pre + t.Name, Type: tensor.F32, Shape: []int{len(e.v)}})
			vals = append(vals, e.v)
		}
	}
	path := filepath.Join(r.out, CheckpointName)
	err = safetensors.WriteFile(path, map[string]string{"bayling.train": string(meta)}, entries,
		func(i int, out io.Writer) error { return writeF32(out, vals[i]) })
	if err != nil {
		return err
	}
	return r.writeLog()
}

// resume restores a checkpoint in r.out, if there is one.
func (r *runner) resume() (bool, error) {
	path := filepath.Join(r.out, CheckpointName)
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return false, nil
	}
	f, err := safetensors.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var st runState
	if err := json.Unmarshal([]byte(f.Metadata["bayling.train"]), &st); err != nil {
		return false, fmt.Errorf("train: checkpoint %s: metadata bayling.train: %w", path, err)
	}
	if st.Config != r.st.Config {
		return false, fmt.Errorf("train: checkpoint %s was written with a different configuration; use another output folder or delete it", path)
	}
	if st.Threads != r.st.Threads {
		return false, fmt.Errorf("train: checkpoint %s was written with %d threads, this run has %d (bit-identical resume needs the same)", path, st.Threads, r.st.Threads)
	}
	for k, t := range r.train {
		for _, e := range []struct {
			pre string
			v   []float32
		}{{"w.", t.W}, {"m.", r.opt.M[k]}, {"v.", r.opt.V[k]}} {
			tt, err := f.Tensor(e.pre + t.Name)
			if err != nil {
				return false, fmt.Errorf("train: checkpoint %s: %w", path, err)
			}
			if tt.Type != tensor.F32 || len(tt.Data) != 4*len(e.v) {
				return false, fmt.Errorf("train: checkpoint %s: tensor %q: %v with %d bytes, want F32 with %d", path, e.pre+t.Name, tt.Type, len(tt.Data), 4*len(e.v))
			}
			if err := tensor.Dequantize(e.v, tt.Data, tt.Type); err != nil {
				return false, err
			}
		}
	}
	for i := range st.Log {
		st.Log[i].EvalLoss = nan()
		if v := st.Log[i].EvalJSON; v != nil {
			st.Log[i].EvalLoss = *v
		}
	}
	r.opt.Step = st.Step
	r.st = st
	return true, nil
}

// writeLog rewrites log.csv and loss.png from the rows so far.
func (r *runner) writeLog() error {
	err := atomicfile.Write(filepath.Join(r.out, LogName), func(w io.Writer) error {
		if _, err := io.WriteString(w, "step,loss,lr,tokens_per_s,eval_loss,grad_norm\n"); err != nil {
			return err
		}
		for _, row := range r.st.Log {
			ev := ""
			if !math.IsNaN(row.EvalLoss) {
				ev = strconv.FormatFloat(row.EvalLoss, 'f', 6, 64)
			}
			_, err := fmt.Fprintf(w, "%d,%.6f,%.6g,%.1f,%s,%.4f\n", row.Step, row.Loss, row.LR, row.TokensPerS, ev, row.GradNorm)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return r.plot()
}

func (r *runner) plot() error {
	tr := plot.XY{Name: "train loss"}
	ev := plot.XY{Name: "eval loss"}
	if r.st.EvalBefore != nil {
		ev.X, ev.Y = []float64{0}, []float64{*r.st.EvalBefore}
	}
	for _, row := range r.st.Log {
		tr.X = append(tr.X, float64(row.Step))
		tr.Y = append(tr.Y, row.Loss)
		if !math.IsNaN(row.EvalLoss) {
			ev.X = append(ev.X, float64(row.Step))
			ev.Y = append(ev.Y, row.EvalLoss)
		}
	}
	if len(tr.X) < 2 {
		return nil
	}
	series := []plot.XY{tr}
	if len(ev.X) > 0 {
		series = append(series, ev)
	}
	img, err := plot.Lines{Title: "training loss", XLabel: "step", YLabel: "loss", Series: series}.Draw()
	if err != nil {
		return err
	}
	return plot.Save(filepath.Join(r.out, PlotName), img)
}
