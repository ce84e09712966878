package plot

import (
	"os"
	"testing"
)

func TestDemoWrite(t *testing.T) {
	out := os.Getenv("PLOT_DEMO")
	if out == "" {
		t.Skip("set PLOT_DEMO to a folder to write sample charts")
	}
	b, _ := Bars{Title: "Records by language", Labels: []string{"eng_Latn", "zho_Hans", "swh_Latn", "amh_Ethi"}, Series: []Series{{"translate", []float64{4000, 3900, 2000, 1990}}, {"multiturn", []float64{0, 0, 100, 90}}}}.Draw()
	Save(out+"/bars.png", b)
	l, _ := Lines{Title: "Loss", XLabel: "step", YLabel: "loss", Series: []XY{{"train", []float64{1, 2, 3, 4, 5}, []float64{3.2, 2.5, 2.1, 1.9, 1.8}}, {"eval", []float64{1, 3, 5}, []float64{3.3, 2.3, 2.0}}}}.Draw()
	Save(out+"/lines.png", l)
	h, _ := Heat{Title: "chrF++", Rows: []string{"eng_Latn", "zho_Hans"}, Cols: []string{"fra_Latn", "deu_Latn", "swh_Latn"}, Values: [][]float64{{55.2, 50.1, 40}, {44, 40.5, 31.2}}}.Draw()
	Save(out+"/heat.png", h)
}
