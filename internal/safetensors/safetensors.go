// Package safetensors reads and writes Hugging Face safetensors files: an
// 8-byte little-endian header length, a JSON header, then raw row-major
// tensor data. Reading memory-maps the file and returns tensor data without
// copying; writing streams tensor by tensor and is atomic.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bayling-go/bayling/internal/mmap"
	"github.com/bayling-go/bayling/internal/tensor"
)

// MaxHeaderSize bounds the JSON header, as the reference implementation does
// (100 MB), so a corrupt length cannot trigger a huge allocation.
const MaxHeaderSize = 100_000_000

// dtypes maps safetensors dtype names to element sizes and, where one exists,
// the tensor.DType.
var dtypes = map[string]struct {
	size int
	typ  tensor.DType
	ok   bool // typ is meaningful
}{
	"F64": {8, tensor.F64, true}, "F32": {4, tensor.F32, true}, "F16": {2, tensor.F16, true},
	"BF16": {2, tensor.BF16, true}, "I64": {8, tensor.I64, true}, "I32": {4, tensor.I32, true},
	"I16": {2, tensor.I16, true}, "I8": {1, tensor.I8, true},
	"U64": {8, 0, false}, "U32": {4, 0, false}, "U16": {2, 0, false}, "U8": {1, 0, false},
	"BOOL": {1, 0, false}, "F8_E4M3": {1, 0, false}, "F8_E5M2": {1, 0, false},
}

// DTypeName is the safetensors name of t, or an error if safetensors has none.
func DTypeName(t tensor.DType) (string, error) {
	for name, d := range dtypes {
		if d.ok && d.typ == t {
			return name, nil
		}
	}
	return "", fmt.Errorf("safetensors has no dtype for %s", t)
}

// TensorInfo describes one tensor. Begin and End are byte offsets relative
// to File.DataOffset.
type TensorInfo struct {
	Name       string
	DType      string // safetensors name, e.g. "BF16"
	Shape      []int  // row-major, outermost first
	Begin, End int64
}

// Type maps DType to a tensor.DType; U8, BOOL, U16/32/64 and F8 have none.
func (ti TensorInfo) Type() (tensor.DType, error) {
	d := dtypes[ti.DType]
	if !d.ok {
		return 0, fmt.Errorf("tensor %q: dtype %s cannot be converted", ti.Name, ti.DType)
	}
	return d.typ, nil
}

// File is a parsed safetensors file. Tensor data aliases the mapping and is
// invalid after Close.
type File struct {
	Path       string
	Metadata   map[string]string // __metadata__, nil if absent
	Tensors    []TensorInfo      // in data offset order
	DataOffset int64
	Size       int64

	data   []byte
	mapped []byte
	index  map[string]int
}

// ErrNotFound is wrapped when a tensor is absent.
var ErrNotFound = errors.New("not found")

// Open memory-maps path read-only and parses it.
func Open(path string) (*File, error) {
	m, err := mmap.Map(path, 8, "a header")
	if err != nil {
		return nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	sf, err := Parse(m, path)
	if err != nil {
		mmap.Unmap(m)
		return nil, err
	}
	sf.mapped = m
	return sf, nil
}

// Close unmaps the file.
func (f *File) Close() error {
	if f.mapped == nil {
		return nil
	}
	m := f.mapped
	f.mapped, f.data = nil, nil
	if err := mmap.Unmap(m); err != nil {
		return fmt.Errorf("safetensors %s: %w", f.Path, err)
	}
	return nil
}

// Parse parses a complete safetensors file held in data; name is used in
// errors. The File keeps references into data.
func Parse(data []byte, name string) (*File, error) {
	f, err := parse(data, name)
	if err != nil {
		return nil, fmt.Errorf("safetensors %s: %w", name, err)
	}
	return f, nil
}

type rawInfo struct {
	DType       string  `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

func parse(data []byte, name string) (*File, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("offset 0: file is %d bytes, too short for a header", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("offset 0: header length %d exceeds the limit of %d", n, MaxHeaderSize)
	}
	if n > uint64(len(data)-8) {
		return nil, fmt.Errorf("offset 0: header length %d runs past the end of the file (%d bytes)", n, len(data))
	}
	hdr := data[8 : 8+n]
	if len(hdr) == 0 || hdr[0] != '{' {
		return nil, fmt.Errorf("offset 8: header does not start with '{'")
	}
	if !utf8.Valid(hdr) {
		return nil, fmt.Errorf("offset 8: header is not valid UTF-8")
	}
	f := &File{Path: name, data: data, Size: int64(len(data)), DataOffset: 8 + int64(n)}
	fields, err := objectFields(hdr)
	if err != nil {
		return nil, fmt.Errorf("header JSON: %w", err)
	}
	f.index = make(map[string]int, len(fields))
	for _, fld := range fields {
		if fld.key == "__metadata__" {
			if err := json.Unmarshal(fld.val, &f.Metadata); err != nil {
				return nil, fmt.Errorf("header __metadata__ (header byte %d): must map strings to strings: %v", fld.off, err)
			}
			continue
		}
		ti, err := tensorInfo(fld)
		if err != nil {
			return nil, err
		}
		f.index[ti.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, ti)
	}
	if err := f.checkLayout(); err != nil {
		return nil, err
	}
	return f, nil
}

type field struct {
	key string
	val json.RawMessage
	off int64
}

// objectFields splits a JSON object into its members in order, rejecting
// duplicate keys (encoding/json would silently keep the last).
func objectFields(b []byte) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("not an object")
	}
	var out []field
	seen := map[string]bool{}
	for dec.More() {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string) // object keys are always strings
		if seen[key] {
			return nil, fmt.Errorf("duplicate key %q at header byte %d", key, off)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("key %q: %v", key, err)
		}
		out = append(out, field{key, raw, off})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	// Only whitespace (the writer's space padding) may follow the object.
	if rest := bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n"); len(rest) != 0 {
		return nil, fmt.Errorf("trailing bytes after the header object at header byte %d", dec.InputOffset())
	}
	return out, nil
}

func tensorInfo(fld field) (TensorInfo, error) {
	var r rawInfo
	if err := json.Unmarshal(fld.val, &r); err != nil {
		return TensorInfo{}, fmt.Errorf("tensor %q (header byte %d): %v", fld.key, fld.off, err)
	}
	ti := TensorInfo{Name: fld.key, DType: r.DType}
	bad := func(format string, args ...any) (TensorInfo, error) {
		return TensorInfo{}, fmt.Errorf("tensor %q (header byte %d): %s", fld.key, fld.off, fmt.Sprintf(format, args...))
	}
	d, ok := dtypes[r.DType]
	if !ok {
		return bad("unknown dtype %q", r.DType)
	}
	if len(r.DataOffsets) != 2 {
		return bad("data_offsets has %d entries, want 2", len(r.DataOffsets))
	}
	ti.Begin, ti.End = r.DataOffsets[0], r.DataOffsets[1]
	if ti.Begin < 0 || ti.End < ti.Begin {
		return bad("invalid data_offsets [%d, %d]", ti.Begin, ti.End)
	}
	if r.Shape == nil {
		return bad("missing shape")
	}
	n := int64(d.size)
	ti.Shape = make([]int, len(r.Shape))
	for i, s := range r.Shape {
		if s < 0 {
			return bad("negative dimension in shape %v", r.Shape)
		}
		if s != 0 && n > (1<<62)/s {
			return bad("shape %v is too large", r.Shape)
		}
		n *= s
		ti.Shape[i] = int(s)
	}
	if n != ti.End-ti.Begin {
		return bad("%s%v needs %d bytes but data_offsets [%d, %d] hold %d", r.DType, r.Shape, n, ti.Begin, ti.End, ti.End-ti.Begin)
	}
	return ti, nil
}

// checkLayout sorts tensors by offset and requires them to tile the data
// section exactly: no gaps, no overlaps, nothing past the end.
func (f *File) checkLayout() error {
	slices.SortStableFunc(f.Tensors, func(a, b TensorInfo) int {
		if a.Begin != b.Begin {
			return cmpInt(a.Begin, b.Begin)
		}
		return cmpInt(a.End, b.End)
	})
	for i, ti := range f.Tensors {
		f.index[ti.Name] = i
	}
	avail := f.Size - f.DataOffset
	var pos int64
	for _, ti := range f.Tensors {
		if ti.Begin != pos {
			what := "a gap before it"
			if ti.Begin < pos {
				what = "it overlaps the previous tensor"
			}
			return fmt.Errorf("tensor %q: data_offsets start at %d, expected %d (%s)", ti.Name, ti.Begin, pos, what)
		}
		pos = ti.End
	}
	if pos != avail {
		return fmt.Errorf("tensors hold %d bytes of data but the file has %d after the header (file offset %d)", pos, avail, f.DataOffset)
	}
	return nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Names lists the tensor names in data offset order.
func (f *File) Names() []string {
	names := make([]string, len(f.Tensors))
	for i, ti := range f.Tensors {
		names[i] = ti.Name
	}
	return names
}

// Info returns the description of the named tensor.
func (f *File) Info(name string) (TensorInfo, bool) {
	i, ok := f.index[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Tensors[i], true
}

// Raw returns the description and raw bytes of a tensor of any dtype.
func (f *File) Raw(name string) (TensorInfo, []byte, error) {
	i, ok := f.index[name]
	if !ok {
		return TensorInfo{}, nil, fmt.Errorf("safetensors %s: tensor %q: %w", f.Path, name, ErrNotFound)
	}
	if f.data == nil {
		return TensorInfo{}, nil, fmt.Errorf("safetensors %s: tensor %q: file is closed", f.Path, name)
	}
	ti := f.Tensors[i]
	a, b := f.DataOffset+ti.Begin, f.DataOffset+ti.End
	return ti, f.data[a:b:b], nil
}

// Tensor returns the named tensor with Data aliasing the file. Tensors whose
// dtype has no tensor.DType (U8, BOOL, ...) are an error; use Raw for them.
func (f *File) Tensor(name string) (tensor.Tensor, error) {
	ti, data, err := f.Raw(name)
	if err != nil {
		return tensor.Tensor{}, err
	}
	typ, err := ti.Type()
	if err != nil {
		return tensor.Tensor{}, fmt.Errorf("safetensors %s: %w", f.Path, err)
	}
	return tensor.Tensor{Name: ti.Name, Type: typ, Shape: slices.Clone(ti.Shape), Data: data}, nil
}

// hfRank is the position of each writable dtype in the reference
// implementation's Dtype enum; its writer orders tensors by it, descending.
var hfRank = map[tensor.DType]int{tensor.I8: 5, tensor.I16: 11, tensor.F16: 13, tensor.BF16: 14, tensor.I32: 15, tensor.F32: 17, tensor.F64: 19, tensor.I64: 20}

// SortEntries orders entries as the reference writer (safetensors' Rust
// prepare) does: by dtype, widest/last-declared first, then by name. Every
// tensor then starts at a multiple of its element size.
func SortEntries(entries []Entry) {
	slices.SortStableFunc(entries, func(a, b Entry) int {
		if ra, rb := hfRank[a.Type], hfRank[b.Type]; ra != rb {
			return rb - ra
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// Entry describes a tensor to write.
type Entry struct {
	Name  string
	Type  tensor.DType
	Shape []int // row-major, outermost first
}

// Encode writes a complete safetensors file to out: the header (tensors in
// the given order; see SortEntries, __metadata__ first with sorted keys, compact JSON padded
// with spaces to a multiple of 8 bytes like the reference writer), then each
// tensor's data from data(i, out), which must write exactly its byte size.
func Encode(out io.Writer, metadata map[string]string, entries []Entry, data func(i int, out io.Writer) error) error {
	hdr, sizes, err := header(metadata, entries)
	if err != nil {
		return err
	}
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hdr)))
	if _, err := out.Write(lenBuf[:]); err != nil {
		return err
	}
	if _, err := out.Write(hdr); err != nil {
		return err
	}
	for i, e := range entries {
		lw := &limitWriter{w: out, left: sizes[i]}
		if err := data(i, lw); err != nil {
			return fmt.Errorf("tensor %q: %w", e.Name, err)
		}
		if lw.left != 0 {
			return fmt.Errorf("tensor %q: wrote %d bytes, want %d", e.Name, sizes[i]-lw.left, sizes[i])
		}
	}
	return nil
}

func header(metadata map[string]string, entries []Entry) ([]byte, []int64, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	if metadata != nil {
		b.WriteString(`"__metadata__":{`)
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(&b, k)
			b.WriteByte(':')
			writeJSONString(&b, metadata[k])
		}
		b.WriteByte('}')
	}
	seen := map[string]bool{"__metadata__": true}
	sizes := make([]int64, len(entries))
	var pos int64
	for i, e := range entries {
		if seen[e.Name] {
			return nil, nil, fmt.Errorf("duplicate or reserved tensor name %q", e.Name)
		}
		seen[e.Name] = true
		name, err := DTypeName(e.Type)
		if err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", e.Name, err)
		}
		n := tensor.NumElements(e.Shape)
		if n < 0 {
			return nil, nil, fmt.Errorf("tensor %q: invalid shape %v", e.Name, e.Shape)
		}
		sizes[i] = int64(n) * int64(dtypes[name].size)
		if metadata != nil || i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, e.Name)
		fmt.Fprintf(&b, `:{"dtype":"%s","shape":[`, name)
		for j, s := range e.Shape {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(s))
		}
		fmt.Fprintf(&b, `],"data_offsets":[%d,%d]}`, pos, pos+sizes[i])
		pos += sizes[i]
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	return b.Bytes(), sizes, nil
}

// writeJSONString writes s as a JSON string without HTML escaping, matching
// serde_json's output for ordinary names.
func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)           // cannot fail for a string
	b.Truncate(b.Len() - 1) // Encode appends a newline
}

type limitWriter struct {
	w    io.Writer
	left int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		return 0, errors.New("more bytes than the tensor holds")
	}
	n, err := l.w.Write(p)
	l.left -= int64(n)
	return n, err
}
