package lid

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
)

// Model file layout (little-endian), version 2:
//
//	[8]byte "BAYLID\x00\x01"
//	u32 dim, minN, maxN, wordNgrams, buckets, nlabels
//	nlabels × (u8 len, label bytes)
//	u32 nscripts; nscripts × (u16 n, n × u16 class)
//	u32 nbBuckets, nexperts; nexperts × (u16 k, k × u16 class)
//	buckets×dim f16 input rows; nlabels×dim f32 class rows;
//	per expert nbBuckets×k f32 log-probabilities
//	u32 CRC-32 (IEEE) of everything before it
var fileMagic = [8]byte{'B', 'A', 'Y', 'L', 'I', 'D', 0, 2}

// Save writes the model atomically: a temporary file in the same folder,
// synced, then renamed over path.
func (m *Model) Save(path string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("lid: save: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	crc := crc32.NewIEEE()
	w := bufio.NewWriterSize(io.MultiWriter(tmp, crc), 1<<20)
	if err = m.encode(w); err != nil {
		return fmt.Errorf("lid: save %s: %w", path, err)
	}
	if err = w.Flush(); err != nil {
		return fmt.Errorf("lid: save %s: %w", path, err)
	}
	if err = binary.Write(tmp, binary.LittleEndian, crc.Sum32()); err != nil {
		return fmt.Errorf("lid: save %s: %w", path, err)
	}
	if err = tmp.Chmod(0o644); err != nil { // CreateTemp makes it 0600
		return fmt.Errorf("lid: save %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("lid: save %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("lid: save %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("lid: save %s: %w", path, err)
	}
	return nil
}

func (m *Model) encode(w *bufio.Writer) error {
	w.Write(fileMagic[:])
	u32 := func(v int) { binary.Write(w, binary.LittleEndian, uint32(v)) }
	u16 := func(v int) { binary.Write(w, binary.LittleEndian, uint16(v)) }
	u32(m.dim)
	u32(m.minN)
	u32(m.maxN)
	u32(m.wordNg)
	u32(int(m.buckets))
	u32(len(m.labels))
	for _, l := range m.labels {
		if len(l) > 255 {
			return fmt.Errorf("label %q longer than 255 bytes", l)
		}
		w.WriteByte(byte(len(l)))
		w.WriteString(l)
	}
	u32(len(m.cands))
	for _, c := range m.cands {
		u16(len(c))
		for _, id := range c {
			u16(int(id))
		}
	}
	u32(int(m.nbBuckets))
	u32(len(m.experts))
	for _, e := range m.experts {
		u16(len(e.classes))
		for _, c := range e.classes {
			u16(int(c))
		}
	}
	var half [2]byte
	for _, v := range m.in {
		binary.LittleEndian.PutUint16(half[:], f32ToF16(v))
		if _, err := w.Write(half[:]); err != nil {
			return err
		}
	}
	mats := [][]float32{m.out}
	for _, e := range m.experts {
		mats = append(mats, e.logp)
	}
	var buf [4]byte
	for _, mat := range mats {
		for _, v := range mat {
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
			if _, err := w.Write(buf[:]); err != nil {
				return err
			}
		}
	}
	return nil
}

// Load reads a model written by Save, verifying its structure and checksum.
func Load(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("lid: %w", err)
	}
	m, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("lid %s: %w", path, err)
	}
	return m, nil
}

// decoder reads fields from a byte slice and reports the offset of a failure.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) take(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b)-d.off {
		d.err = fmt.Errorf("offset %d: %s: %w (need %d bytes, %d left)", d.off, what, io.ErrUnexpectedEOF, n, len(d.b)-d.off)
		return nil
	}
	s := d.b[d.off : d.off+n]
	d.off += n
	return s
}

func (d *decoder) u32(what string) int {
	b := d.take(4, what)
	if b == nil {
		return 0
	}
	return int(binary.LittleEndian.Uint32(b))
}

func (d *decoder) u16(what string) int {
	b := d.take(2, what)
	if b == nil {
		return 0
	}
	return int(binary.LittleEndian.Uint16(b))
}

func (d *decoder) fail(off int, format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("offset %d: %s", off, fmt.Sprintf(format, args...))
	}
}

func decode(data []byte) (*Model, error) {
	if len(data) < len(fileMagic)+4 {
		return nil, fmt.Errorf("offset 0: file of %d bytes is too short for a model", len(data))
	}
	if !bytes.Equal(data[:8], fileMagic[:]) {
		return nil, errors.New("offset 0: not a bayling LID model (bad magic)")
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	d := &decoder{b: body, off: 8}
	m := &Model{}
	m.dim = d.u32("dim")
	m.minN = d.u32("minN")
	m.maxN = d.u32("maxN")
	m.wordNg = d.u32("wordNgrams")
	m.buckets = uint32(d.u32("buckets"))
	nl := d.u32("label count")
	switch {
	case d.err != nil:
	case m.dim < 1 || m.dim > 1024:
		d.fail(8, "dim %d out of range [1, 1024]", m.dim)
	case m.minN < 1 || m.maxN < m.minN || m.maxN > 8:
		d.fail(12, "n-gram range [%d, %d] invalid", m.minN, m.maxN)
	case m.wordNg < 1 || m.wordNg > 2:
		d.fail(20, "word n-grams %d not supported", m.wordNg)
	case m.buckets < 1 || m.buckets > 1<<24:
		d.fail(24, "buckets %d out of range", m.buckets)
	case nl < 2 || nl > 65535:
		d.fail(28, "label count %d out of range [2, 65535]", nl)
	}
	seen := map[string]bool{}
	for i := 0; i < nl && d.err == nil; i++ {
		at := d.off
		n := d.take(1, "label length")
		if n == nil {
			break
		}
		l := string(d.take(int(n[0]), "label"))
		if d.err == nil && (l == "" || seen[l]) {
			d.fail(at, "label %d %q empty or repeated", i, l)
		}
		seen[l] = true
		m.labels = append(m.labels, l)
	}
	ns := d.u32("script count")
	if d.err == nil && ns > 256 {
		d.fail(d.off-4, "script count %d exceeds 256", ns)
	}
	for s := 0; s < ns && d.err == nil; s++ {
		at := d.off
		n := d.u16("candidate count")
		if d.err == nil && n > nl {
			d.fail(at, "script %d lists %d candidates, model has %d labels", s, n, nl)
		}
		var c []uint16
		for j := 0; j < n && d.err == nil; j++ {
			id := d.u16("candidate")
			if d.err == nil && id >= nl {
				d.fail(d.off-2, "script %d candidate %d out of range", s, id)
			}
			c = append(c, uint16(id))
		}
		m.cands = append(m.cands, c)
	}
	m.nbBuckets = uint32(d.u32("expert buckets"))
	ne := d.u32("expert count")
	if d.err == nil && (ne > nl/2 || ne > 0 && (m.nbBuckets < 1 || m.nbBuckets > m.buckets)) {
		d.fail(d.off-8, "%d experts over %d buckets invalid for %d labels and %d buckets", ne, m.nbBuckets, nl, m.buckets)
	}
	m.expertOf = make([]int16, nl)
	for i := range m.expertOf {
		m.expertOf[i] = -1
	}
	for e := 0; e < ne && d.err == nil; e++ {
		at := d.off
		k := d.u16("expert size")
		if d.err == nil && (k < 2 || k > nl) {
			d.fail(at, "expert %d has %d classes", e, k)
		}
		var ex expert
		for j := 0; j < k && d.err == nil; j++ {
			c := d.u16("expert class")
			switch {
			case d.err != nil:
			case c >= nl:
				d.fail(d.off-2, "expert %d class %d out of range", e, c)
			case m.expertOf[c] >= 0:
				d.fail(d.off-2, "class %d in two experts", c)
			default:
				m.expertOf[c] = int16(e)
				ex.classes = append(ex.classes, uint16(c))
			}
		}
		m.experts = append(m.experts, ex)
	}
	if d.err != nil {
		return nil, d.err
	}
	m.in = d.halves(int(m.buckets)*m.dim, "input matrix")
	m.out = d.floats(nl*m.dim, "output matrix")
	for i := range m.experts {
		m.experts[i].logp = d.floats(int(m.nbBuckets)*len(m.experts[i].classes), "expert matrix")
	}
	if d.err != nil {
		return nil, d.err
	}
	if d.off != len(body) {
		return nil, fmt.Errorf("offset %d: %d unexpected bytes before the checksum", d.off, len(body)-d.off)
	}
	if got := crc32.ChecksumIEEE(body); got != sum {
		return nil, fmt.Errorf("offset %d: checksum mismatch (file says %08x, content is %08x): file corrupt", len(body), sum, got)
	}
	m.init()
	return m, nil
}

func (d *decoder) floats(n int, what string) []float32 {
	b := d.take(n*4, what)
	if b == nil {
		return nil
	}
	out := make([]float32, n)
	for i := range out {
		v := math.Float32frombits(binary.LittleEndian.Uint32(b[i*4:]))
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			d.fail(d.off-len(b)+i*4, "%s: non-finite value", what)
			return nil
		}
		out[i] = v
	}
	return out
}

func (d *decoder) halves(n int, what string) []float32 {
	b := d.take(n*2, what)
	if b == nil {
		return nil
	}
	out := make([]float32, n)
	for i := range out {
		h := binary.LittleEndian.Uint16(b[i*2:])
		if h&0x7c00 == 0x7c00 {
			d.fail(d.off-len(b)+i*2, "%s: non-finite value", what)
			return nil
		}
		out[i] = f16ToF32(h)
	}
	return out
}

// Open loads a LID model of either kind: bayling's own (Save) or a
// fastText .bin (LoadFastText).
func Open(path string) (Predictor, error) {
	if IsFastText(path) {
		return LoadFastText(path)
	}
	return Load(path)
}
