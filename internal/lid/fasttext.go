package lid

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
)

// fastText's binary model format (fastText ≥ 0.9, file version 11 or 12):
//
//	int32 magic 793712314, int32 version
//	args: int32 dim, ws, epoch, minCount, neg, wordNgrams, loss, model,
//	      bucket, minn, maxn, lrUpdateRate; float64 t
//	dictionary: int32 size, nwords, nlabels; int64 ntokens, pruneidx_size;
//	      size × (NUL-terminated word, int64 count, int8 type);
//	      pruneidx_size × (int32, int32)
//	bool quant_input; input matrix (int64 rows, int64 cols, rows×cols float32)
//	bool qout; output matrix (same layout)
//
// All little-endian. Prediction mirrors FastText::predictLine: the line is
// split on ASCII whitespace, "</s>" is appended, each word contributes its
// dictionary id (if known) and its hashed character n-grams of "<word>", word
// n-grams are hashed from the words' FNV hashes, the rows are averaged, and
// the loss's predict (softmax, hierarchical softmax, or sigmoid for
// ns/ova) ranks the labels.

const (
	ftMagic      = 793712314
	ftVersion    = 12
	ftEOS        = "</s>"
	ftLossHS     = 1
	ftLossNS     = 2
	ftLossSM     = 3
	ftLossOVA    = 4
	ftModelSup   = 3
	ftSigTable   = 512
	ftMaxSigmoid = 8
)

// FastText is a supervised fastText model read from a .bin file.
type FastText struct {
	dim, wordNgrams, loss, bucket, minn, maxn int
	labelPrefix                               string
	words                                     map[string]int32 // word → id (words only)
	nwords                                    int32
	labels                                    []string // without the prefix
	labelCounts                               []int64
	in, out                                   []float32
	inRows                                    int
	tree                                      []ftNode // hierarchical softmax only
	sigmoid                                   [ftSigTable + 1]float32
	pool                                      sync.Pool
}

type ftNode struct {
	left, right int32
}

type ftScratch struct {
	word   []byte // "<" + token + ">"
	feats  []int32
	hashes []int32
	hidden []float32
	output []float32
	heap   []ftPred
}

type ftPred struct {
	score float32
	label int32
}

// ftReader reads little-endian fields and remembers the offset for errors.
type ftReader struct {
	r   *bufio.Reader
	off int64
	err error
}

func (r *ftReader) read(n int) []byte {
	if r.err != nil {
		return nil
	}
	b := make([]byte, n)
	k, err := io.ReadFull(r.r, b)
	r.off += int64(k)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		r.err = fmt.Errorf("offset %d: %w", r.off, err)
		return nil
	}
	return b
}

func (r *ftReader) i32() int32 {
	b := r.read(4)
	if b == nil {
		return 0
	}
	return int32(binary.LittleEndian.Uint32(b))
}

func (r *ftReader) i64() int64 {
	b := r.read(8)
	if b == nil {
		return 0
	}
	return int64(binary.LittleEndian.Uint64(b))
}

func (r *ftReader) byte1() byte {
	b := r.read(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *ftReader) cstring(limit int) string {
	if r.err != nil {
		return ""
	}
	start := r.off
	var sb strings.Builder
	for {
		c, err := r.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			r.err = fmt.Errorf("offset %d: %w", r.off, err)
			return ""
		}
		r.off++
		if c == 0 {
			return sb.String()
		}
		if sb.Len() >= limit {
			r.err = fmt.Errorf("offset %d: dictionary entry longer than %d bytes", start, limit)
			return ""
		}
		sb.WriteByte(c)
	}
}

func (r *ftReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("offset %d: %s", r.off, fmt.Sprintf(format, args...))
	}
}

// IsFastText reports whether the file at path starts with fastText's magic.
func IsFastText(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [4]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return false
	}
	return binary.LittleEndian.Uint32(b[:]) == ftMagic
}

// LoadFastText reads a supervised fastText .bin model (GlotLID, OpenLID,
// lid.176.bin). Quantized (.ftz) models are rejected with a clear error.
func LoadFastText(path string) (*FastText, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("fasttext: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("fasttext: %w", err)
	}
	m, err := readFastText(bufio.NewReaderSize(f, 1<<20), st.Size())
	if err != nil {
		return nil, fmt.Errorf("fasttext %s: %w", path, err)
	}
	return m, nil
}

func readFastText(br *bufio.Reader, size int64) (*FastText, error) {
	r := &ftReader{r: br}
	if magic := r.i32(); r.err == nil && magic != ftMagic {
		return nil, fmt.Errorf("offset 0: not a fastText model (magic %d, want %d)", magic, ftMagic)
	}
	version := r.i32()
	if r.err == nil && (version < 11 || version > ftVersion) {
		return nil, fmt.Errorf("offset 4: unsupported fastText file version %d (want 11 or 12)", version)
	}
	m := &FastText{labelPrefix: "__label__"}
	var a [12]int32
	for i := range a {
		a[i] = r.i32()
	}
	r.read(8) // t, the sampling threshold: unused by prediction
	m.dim, m.wordNgrams, m.loss = int(a[0]), int(a[5]), int(a[6])
	model := a[7]
	m.bucket, m.minn, m.maxn = int(a[8]), int(a[9]), int(a[10])
	if r.err != nil {
		return nil, r.err
	}
	if version == 11 { // fastText: old supervised models have no char n-grams
		m.maxn = 0
	}
	switch {
	case model != ftModelSup:
		return nil, fmt.Errorf("offset 36: model type %d is not supervised (3); only classifiers can predict", model)
	case m.loss < ftLossHS || m.loss > ftLossOVA:
		return nil, fmt.Errorf("offset 32: unknown loss %d", m.loss)
	case m.dim < 1 || m.dim > 1<<16:
		return nil, fmt.Errorf("offset 8: dim %d out of range", m.dim)
	case m.bucket < 0 || m.minn < 0 || m.maxn < 0 || m.maxn > 64 || m.wordNgrams < 0 || m.wordNgrams > 64:
		return nil, fmt.Errorf("offset 40: invalid args bucket=%d minn=%d maxn=%d wordNgrams=%d", m.bucket, m.minn, m.maxn, m.wordNgrams)
	}
	if err := m.readDict(r, size); err != nil {
		return nil, err
	}
	if quant := r.byte1(); r.err == nil && quant != 0 {
		return nil, fmt.Errorf("offset %d: quantized fastText models (.ftz) are not supported; use the non-quantized .bin", r.off-1)
	}
	rows, cols := r.i64(), r.i64()
	if r.err != nil {
		return nil, r.err
	}
	if want := int64(m.nwords) + int64(m.bucket); rows != want || cols != int64(m.dim) {
		return nil, fmt.Errorf("offset %d: input matrix is %d×%d, want %d×%d (nwords+bucket × dim)", r.off-16, rows, cols, want, m.dim)
	}
	m.inRows = int(rows)
	var err error
	if m.in, err = readFloats(r, rows*cols, size); err != nil {
		return nil, err
	}
	r.byte1() // qout: only meaningful for quantized models
	orows, ocols := r.i64(), r.i64()
	if r.err != nil {
		return nil, r.err
	}
	if orows != int64(len(m.labels)) || ocols != int64(m.dim) {
		return nil, fmt.Errorf("offset %d: output matrix is %d×%d, want %d×%d (labels × dim)", r.off-16, orows, ocols, len(m.labels), m.dim)
	}
	if m.out, err = readFloats(r, orows*ocols, size); err != nil {
		return nil, err
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("offset %d: trailing bytes after the output matrix", r.off)
	}
	if m.loss == ftLossHS {
		m.buildTree()
	}
	for i := range m.sigmoid {
		x := float32(i*2*ftMaxSigmoid)/ftSigTable - ftMaxSigmoid
		m.sigmoid[i] = float32(1 / (1 + math.Exp(-float64(x))))
	}
	m.pool.New = func() any {
		return &ftScratch{hidden: make([]float32, m.dim), output: make([]float32, len(m.labels))}
	}
	return m, nil
}

func (m *FastText) readDict(r *ftReader, size int64) error {
	n, nwords, nlabels := r.i32(), r.i32(), r.i32()
	r.i64() // ntokens
	pruned := r.i64()
	if r.err != nil {
		return r.err
	}
	if n < 0 || nwords < 0 || nlabels < 1 || int64(n) != int64(nwords)+int64(nlabels) || int64(n) > size {
		return fmt.Errorf("offset %d: dictionary sizes inconsistent: size %d, %d words, %d labels", r.off-32, n, nwords, nlabels)
	}
	if pruned >= 0 {
		return fmt.Errorf("offset %d: pruned dictionary (pruneidx_size %d) belongs to a quantized model; not supported", r.off-8, pruned)
	}
	m.nwords = nwords
	m.words = make(map[string]int32, nwords)
	for i := int32(0); i < n && r.err == nil; i++ {
		w := r.cstring(1 << 16)
		count := r.i64()
		typ := r.byte1()
		if r.err != nil {
			break
		}
		switch {
		case i < nwords && typ == 0:
			m.words[w] = i
		case i >= nwords && typ == 1:
			m.labels = append(m.labels, strings.TrimPrefix(w, m.labelPrefix))
			m.labelCounts = append(m.labelCounts, count)
		default:
			r.fail("dictionary entry %d (%q) has type %d out of order (words first, then labels)", i, w, typ)
		}
	}
	return r.err
}

func readFloats(r *ftReader, n, size int64) ([]float32, error) {
	if r.err != nil {
		return nil, r.err
	}
	if n < 0 || n*4 > size-r.off {
		return nil, fmt.Errorf("offset %d: matrix of %d floats exceeds the file size %d", r.off, n, size)
	}
	out := make([]float32, n)
	buf := make([]byte, 1<<16)
	for i := int64(0); i < n; {
		k := min(int64(len(buf))/4, n-i)
		if _, err := io.ReadFull(r.r, buf[:k*4]); err != nil {
			return nil, fmt.Errorf("offset %d: %w", r.off, io.ErrUnexpectedEOF)
		}
		for j := int64(0); j < k; j++ {
			out[i+j] = math.Float32frombits(binary.LittleEndian.Uint32(buf[j*4:]))
		}
		i += k
		r.off += k * 4
	}
	return out, nil
}
