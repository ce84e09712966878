package plot

import (
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// inked counts non-white pixels inside r.
func inked(img image.Image, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if rr, g, b, _ := img.At(x, y).RGBA(); rr != 0xffff || g != 0xffff || b != 0xffff {
				n++
			}
		}
	}
	return n
}

func TestBarsLengthsFollowValues(t *testing.T) {
	img, err := Bars{Title: "by language", Labels: []string{"eng_Latn", "swh_Latn"}, Series: []Series{{"translate", []float64{100, 50}}}}.Draw()
	if err != nil {
		t.Fatal(err)
	}
	// Measure each bar's coloured run along its row.
	top := pad + textHeight(titleScale) + pad
	runOf := func(row int) int {
		y := top + row*14 + 7
		n := 0
		for x := 0; x < img.Bounds().Dx(); x++ {
			if c := img.At(x, y); c == palette[0] {
				n++
			}
		}
		return n
	}
	a, b := runOf(0), runOf(1)
	if a != 600 || b != 300 {
		t.Fatalf("bar lengths %d and %d, want 600 and 300", a, b)
	}
	if _, err := (Bars{Labels: []string{"a"}, Series: []Series{{"s", []float64{1, 2}}}}).Draw(); err == nil {
		t.Fatal("mismatched series accepted")
	}
}

func TestLinesAndHeatAndSave(t *testing.T) {
	l := Lines{Title: "loss", XLabel: "step", YLabel: "loss", Series: []XY{{"train", []float64{1, 2, 3}, []float64{3, 2, math.NaN()}}, {"eval", []float64{1, 3}, []float64{3.1, 2.5}}}}
	img, err := l.Draw()
	if err != nil {
		t.Fatal(err)
	}
	if inked(img, img.Bounds()) < 1000 {
		t.Fatal("line chart is nearly empty")
	}
	h := Heat{Title: "BLEU", Rows: []string{"eng", "zho"}, Cols: []string{"fra", "deu"}, Values: [][]float64{{30, math.NaN()}, {20, 10}}}
	himg, err := h.Draw()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "h.png")
	if err := Save(p, himg); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(p)
	defer f.Close()
	back, err := png.Decode(f)
	if err != nil || back.Bounds() != himg.Bounds() {
		t.Fatalf("saved PNG unreadable: %v", err)
	}
}

func TestTicks(t *testing.T) {
	got := ticks(0.3, 9.7, 5)
	if got[0] > 0.3 || got[len(got)-1] < 9.7 || len(got) > 7 {
		t.Fatalf("ticks %v", got)
	}
}
