// Package plot draws the project's report charts (bar charts, line charts,
// heat maps) as PNG files, with no font files or dependencies.
package plot

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strconv"

	"github.com/bayling-go/bayling/internal/atomicfile"
)

var (
	white = color.RGBA{255, 255, 255, 255}
	black = color.RGBA{30, 30, 30, 255}
	grey  = color.RGBA{200, 200, 200, 255}
	// palette is Okabe-Ito, distinguishable with colour blindness.
	palette = []color.RGBA{
		{0, 114, 178, 255}, {230, 159, 0, 255}, {0, 158, 115, 255}, {204, 121, 167, 255},
		{86, 180, 233, 255}, {213, 94, 0, 255}, {240, 228, 66, 255}, {0, 0, 0, 255},
	}
)

const (
	labelScale = 2
	titleScale = 3
	pad        = 16
)

func fill(img *image.RGBA, r image.Rectangle, c color.Color) {
	draw.Draw(img, r.Intersect(img.Bounds()), &image.Uniform{c}, image.Point{}, draw.Src)
}

func newCanvas(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fill(img, img.Bounds(), white)
	return img
}

// line draws a 2-pixel line from (x0,y0) to (x1,y1).
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	dx, dy := x1-x0, y1-y0
	n := max(abs(dx), abs(dy), 1)
	for i := 0; i <= n; i++ {
		x := x0 + dx*i/n
		y := y0 + dy*i/n
		fill(img, image.Rect(x, y, x+2, y+2), c)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Save writes a chart as PNG atomically.
func Save(path string, img image.Image) error {
	return atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, img) })
}

// Series is one named set of values.
type Series struct {
	Name   string
	Values []float64
}

// Bars is a horizontal bar chart, one row per label; several series stack.
type Bars struct {
	Title  string
	Labels []string
	Series []Series
}

// Draw renders the chart.
func (b Bars) Draw() (image.Image, error) {
	for _, s := range b.Series {
		if len(s.Values) != len(b.Labels) {
			return nil, fmt.Errorf("plot: series %q has %d values for %d labels", s.Name, len(s.Values), len(b.Labels))
		}
	}
	labelW := 0
	for _, l := range b.Labels {
		labelW = max(labelW, textWidth(l, labelScale))
	}
	maxV := 0.0
	for i := range b.Labels {
		sum := 0.0
		for _, s := range b.Series {
			sum += math.Max(0, s.Values[i])
		}
		maxV = math.Max(maxV, sum)
	}
	if maxV == 0 {
		maxV = 1
	}
	const rowH, barW = 14, 600
	top := pad + textHeight(titleScale) + pad + legendHeight(b.Series)
	w := pad + labelW + pad + barW + pad + textWidth(fmtNum(maxV), labelScale) + pad
	h := top + rowH*len(b.Labels) + pad + textHeight(labelScale) + pad
	img := newCanvas(w, h)
	drawText(img, pad, pad, b.Title, titleScale, black)
	drawLegend(img, pad, pad+textHeight(titleScale)+pad, b.Series)
	x0 := pad + labelW + pad
	line(img, x0-2, top, x0-2, top+rowH*len(b.Labels), black)
	for i, l := range b.Labels {
		y := top + i*rowH
		drawText(img, x0-pad-textWidth(l, labelScale), y+2, l, labelScale, black)
		x := x0
		sum := 0.0
		for k, s := range b.Series {
			v := math.Max(0, s.Values[i])
			wpx := int(math.Round(v / maxV * barW))
			fill(img, image.Rect(x, y+1, x+wpx, y+rowH-1), palette[k%len(palette)])
			x += wpx
			sum += v
		}
		drawText(img, x+4, y+2, fmtNum(sum), labelScale, black)
	}
	return img, nil
}

func legendHeight(s []Series) int {
	if len(s) < 2 {
		return 0
	}
	return textHeight(labelScale) + pad
}

func drawLegend(img *image.RGBA, x, y int, series []Series) {
	if len(series) < 2 {
		return
	}
	for k, s := range series {
		fill(img, image.Rect(x, y, x+10, y+10), palette[k%len(palette)])
		drawText(img, x+14, y, s.Name, labelScale, black)
		x += 14 + textWidth(s.Name, labelScale) + pad
	}
}

// XY is one line of a line chart.
type XY struct {
	Name string
	X, Y []float64
}

// Lines is a line chart, e.g. a loss curve.
type Lines struct {
	Title, XLabel, YLabel string
	Series                []XY
}

// Draw renders the chart.
func (l Lines) Draw() (image.Image, error) {
	minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range l.Series {
		if len(s.X) != len(s.Y) {
			return nil, fmt.Errorf("plot: series %q has %d x and %d y values", s.Name, len(s.X), len(s.Y))
		}
		for i := range s.X {
			if math.IsNaN(s.Y[i]) || math.IsInf(s.Y[i], 0) {
				continue
			}
			minX, maxX = math.Min(minX, s.X[i]), math.Max(maxX, s.X[i])
			minY, maxY = math.Min(minY, s.Y[i]), math.Max(maxY, s.Y[i])
		}
	}
	if math.IsInf(minX, 1) {
		return nil, fmt.Errorf("plot: no points")
	}
	if maxX == minX {
		maxX = minX + 1
	}
	if maxY == minY {
		maxY, minY = maxY+0.5, minY-0.5
	}
	yt := ticks(minY, maxY, 5)
	minY, maxY = math.Min(minY, yt[0]), math.Max(maxY, yt[len(yt)-1])
	const pw, ph = 640, 360
	tickW := 0
	for _, t := range yt {
		tickW = max(tickW, textWidth(fmtNum(t), labelScale))
	}
	left := pad + tickW + pad
	top := pad + textHeight(titleScale) + pad + legendHeight(seriesNames(l.Series)) + textHeight(labelScale) + pad
	w := left + pw + pad
	h := top + ph + pad + 2*textHeight(labelScale) + 2*pad
	img := newCanvas(w, h)
	drawText(img, pad, pad, l.Title, titleScale, black)
	drawLegend(img, pad, pad+textHeight(titleScale)+pad, seriesNames(l.Series))
	px := func(x float64) int { return left + int((x-minX)/(maxX-minX)*pw) }
	py := func(y float64) int { return top + ph - int((y-minY)/(maxY-minY)*ph) }
	for _, t := range yt {
		y := py(t)
		line(img, left, y, left+pw, y, grey)
		s := fmtNum(t)
		drawText(img, left-pad/2-textWidth(s, labelScale), y-textHeight(labelScale)/2, s, labelScale, black)
	}
	for _, t := range ticks(minX, maxX, 6) {
		if t < minX || t > maxX {
			continue
		}
		s := fmtNum(t)
		drawText(img, px(t)-textWidth(s, labelScale)/2, top+ph+pad/2, s, labelScale, black)
	}
	line(img, left, top, left, top+ph, black)
	line(img, left, top+ph, left+pw, top+ph, black)
	drawText(img, left+pw/2-textWidth(l.XLabel, labelScale)/2, top+ph+pad+textHeight(labelScale)+pad/2, l.XLabel, labelScale, black)
	drawText(img, pad, top-textHeight(labelScale)-4, l.YLabel, labelScale, black)
	for k, s := range l.Series {
		c := palette[k%len(palette)]
		prev := -1
		for i := range s.X {
			if math.IsNaN(s.Y[i]) || math.IsInf(s.Y[i], 0) {
				prev = -1
				continue
			}
			if prev >= 0 {
				line(img, px(s.X[prev]), py(s.Y[prev]), px(s.X[i]), py(s.Y[i]), c)
			} else {
				fill(img, image.Rect(px(s.X[i])-1, py(s.Y[i])-1, px(s.X[i])+2, py(s.Y[i])+2), c)
			}
			prev = i
		}
	}
	return img, nil
}

func seriesNames(xy []XY) []Series {
	out := make([]Series, len(xy))
	for i, s := range xy {
		out[i].Name = s.Name
	}
	return out
}

// Heat is a heat map of a matrix, e.g. BLEU by source and target language.
// NaN cells are left blank.
type Heat struct {
	Title      string
	Rows, Cols []string
	Values     [][]float64 // [row][col]
}

// Draw renders the chart.
func (hm Heat) Draw() (image.Image, error) {
	if len(hm.Values) != len(hm.Rows) {
		return nil, fmt.Errorf("plot: %d rows of values for %d row labels", len(hm.Values), len(hm.Rows))
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, row := range hm.Values {
		if len(row) != len(hm.Cols) {
			return nil, fmt.Errorf("plot: row %d has %d values for %d columns", i, len(row), len(hm.Cols))
		}
		for _, v := range row {
			if !math.IsNaN(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if math.IsInf(lo, 1) {
		lo, hi = 0, 1
	}
	if hi == lo {
		hi = lo + 1
	}
	cell := 14
	showValues := len(hm.Cols) <= 24
	if showValues {
		cell = max(cell, textWidth("00.0", labelScale)+6)
	}
	rowW, colH := 0, 0
	for _, r := range hm.Rows {
		rowW = max(rowW, textWidth(r, labelScale))
	}
	for _, c := range hm.Cols {
		colH = max(colH, textWidth(c, labelScale))
	}
	left := pad + rowW + pad
	top := pad + textHeight(titleScale) + pad + colH + pad
	w := left + cell*len(hm.Cols) + pad
	h := top + cell*len(hm.Rows) + pad + textHeight(labelScale) + pad
	footer := fmt.Sprintf("min %s  max %s", fmtNum(lo), fmtNum(hi))
	img := newCanvas(max(w, pad+textWidth(hm.Title, titleScale)+pad, left+textWidth(footer, labelScale)+pad), h)
	drawText(img, pad, pad, hm.Title, titleScale, black)
	for j, c := range hm.Cols {
		drawVertical(img, left+j*cell+cell/2-textHeight(labelScale)/2, top-pad/2, c, labelScale, black)
	}
	for i, r := range hm.Rows {
		y := top + i*cell
		drawText(img, left-pad/2-textWidth(r, labelScale), y+cell/2-textHeight(labelScale)/2, r, labelScale, black)
		for j, v := range hm.Values[i] {
			x := left + j*cell
			if math.IsNaN(v) {
				continue
			}
			c := ramp((v - lo) / (hi - lo))
			fill(img, image.Rect(x, y, x+cell-1, y+cell-1), c)
			if showValues {
				s := strconv.FormatFloat(v, 'f', 1, 64)
				tc := black
				if (v-lo)/(hi-lo) < 0.5 {
					tc = white
				}
				drawText(img, x+(cell-textWidth(s, labelScale))/2, y+(cell-textHeight(labelScale))/2, s, labelScale, tc)
			}
		}
	}
	drawText(img, left, top+cell*len(hm.Rows)+pad/2, footer, labelScale, black)
	return img, nil
}

// drawVertical draws text rotated 90 degrees, reading bottom to top, with
// its baseline end at (x, y).
func drawVertical(img *image.RGBA, x, y int, s string, scale int, c color.Color) {
	w, h := textWidth(s, scale), textHeight(scale)
	tmp := image.NewRGBA(image.Rect(0, 0, w, h))
	drawText(tmp, 0, 0, s, scale, c)
	for ty := 0; ty < h; ty++ {
		for tx := 0; tx < w; tx++ {
			if _, _, _, a := tmp.At(tx, ty).RGBA(); a > 0 {
				img.Set(x+ty, y-tx, c)
			}
		}
	}
}

// ramp maps [0,1] to a dark-blue to yellow scale (viridis-like).
func ramp(t float64) color.RGBA {
	stops := []color.RGBA{{68, 1, 84, 255}, {59, 82, 139, 255}, {33, 145, 140, 255}, {94, 201, 98, 255}, {253, 231, 37, 255}}
	t = math.Max(0, math.Min(1, t)) * float64(len(stops)-1)
	i := min(int(t), len(stops)-2)
	f := t - float64(i)
	a, b := stops[i], stops[i+1]
	mixc := func(x, y uint8) uint8 { return uint8(float64(x) + f*(float64(y)-float64(x))) }
	return color.RGBA{mixc(a.R, b.R), mixc(a.G, b.G), mixc(a.B, b.B), 255}
}

// ticks returns about n round values covering [lo, hi].
func ticks(lo, hi float64, n int) []float64 {
	span := hi - lo
	step := math.Pow(10, math.Floor(math.Log10(span/float64(n))))
	for _, m := range []float64{1, 2, 5, 10} {
		if span/(step*m) <= float64(n) {
			step *= m
			break
		}
	}
	var out []float64
	for v := math.Floor(lo/step) * step; v <= hi+step*1e-9; v += step {
		out = append(out, math.Round(v/step)*step)
	}
	if len(out) == 0 || out[len(out)-1] < hi {
		out = append(out, out[len(out)-1]+step)
	}
	return out
}

func fmtNum(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 1, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', 0, 64) + "K"
	case a == math.Trunc(a):
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
