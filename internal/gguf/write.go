package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/bayling-go/bayling/internal/atomicfile"
	"github.com/bayling-go/bayling/internal/tensor"
)

// Writer assembles a GGUF v3 file: metadata in the order added, then tensor
// infos, then tensor data streamed one tensor at a time. The layout matches
// llama.cpp's writers (ggml gguf_write_to_buf and gguf-py): each tensor's
// data is zero-padded to the alignment, and the header is padded to the
// alignment when there is tensor data.
type Writer struct {
	kv      []KV
	keys    map[string]bool
	tensors []TensorInfo
	names   map[string]bool
	next    uint64 // offset of the next tensor in the data section
	align   int
}

// TensorData writes the data of tensor i (described by info) to out: exactly
// info.NumBytes() bytes.
type TensorData func(i int, info TensorInfo, out io.Writer) error

// NewWriter returns an empty Writer with the default alignment.
func NewWriter() *Writer {
	return &Writer{keys: map[string]bool{}, names: map[string]bool{}, align: DefaultAlignment}
}

// AddKV appends a metadata entry. v is a Value or a Go value accepted by
// ValueOf. Setting general.alignment changes the data alignment; it must come
// before any AddTensor.
func (w *Writer) AddKV(key string, v any) error {
	val, err := ValueOf(v)
	if err != nil {
		return fmt.Errorf("gguf: key %q: %w", key, err)
	}
	if w.keys[key] {
		return fmt.Errorf("gguf: duplicate key %q", key)
	}
	if err := checkValue(val, 0); err != nil {
		return fmt.Errorf("gguf: key %q: %w", key, err)
	}
	if key == KeyAlignment {
		a, err := checkAlignment(val)
		if err != nil {
			return fmt.Errorf("gguf: %w", err)
		}
		if len(w.tensors) > 0 {
			return fmt.Errorf("gguf: %s must be set before adding tensors", key)
		}
		w.align = a
	}
	w.keys[key] = true
	w.kv = append(w.kv, KV{Key: key, Value: val})
	return nil
}

// checkValue rejects Values whose payload does not match their type tags
// (possible only for hand-built nested arrays).
func checkValue(v Value, depth int) error {
	if depth >= maxNesting {
		return fmt.Errorf("arrays nested deeper than %d", maxNesting)
	}
	if v.Type != TypeArray {
		if !v.Type.valid() || v.x == nil {
			return fmt.Errorf("invalid value of type %s", v.Type)
		}
		return nil
	}
	if v.Elem != TypeArray {
		return nil
	}
	vs, ok := v.x.([]Value)
	if !ok {
		return fmt.Errorf("nested array payload is %T", v.x)
	}
	for _, e := range vs {
		if e.Type != TypeArray {
			return fmt.Errorf("nested array holds a %s", e.Type)
		}
		if err := checkValue(e, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// AddTensor appends a tensor description; shape is row-major (outermost
// first) and is stored reversed, as GGUF dims.
func (w *Writer) AddTensor(name string, typ tensor.DType, shape []int) error {
	if len(name) >= MaxNameLen {
		return fmt.Errorf("gguf: tensor name %q is longer than %d bytes", name, MaxNameLen-1)
	}
	if w.names[name] {
		return fmt.Errorf("gguf: duplicate tensor %q", name)
	}
	if len(shape) > MaxDims {
		return fmt.Errorf("gguf: tensor %q: %d dimensions, at most %d", name, len(shape), MaxDims)
	}
	dims := make([]uint64, len(shape))
	for i, s := range shape {
		if s < 0 {
			return fmt.Errorf("gguf: tensor %q: negative dimension in %v", name, shape)
		}
		dims[len(shape)-1-i] = uint64(s)
	}
	n, err := tensorBytes(dims, typ)
	if err != nil {
		return fmt.Errorf("gguf: tensor %q: %w", name, err)
	}
	w.names[name] = true
	w.tensors = append(w.tensors, TensorInfo{Name: name, Dims: dims, Type: typ, Offset: w.next})
	w.next += uint64(pad(int(n), w.align))
	return nil
}

// Tensors returns the tensor descriptions with their data offsets.
func (w *Writer) Tensors() []TensorInfo { return w.tensors }

// WriteFile writes the file atomically: to a temporary file in the same
// directory, synced, then renamed over path.
func (w *Writer) WriteFile(path string, data TensorData) error {
	err := atomicfile.Write(path, func(out io.Writer) error {
		_, err := w.WriteTo(out, data)
		return err
	})
	if err != nil {
		return fmt.Errorf("gguf %s: %w", path, err)
	}
	return nil
}

// WriteTo streams the whole file to out and returns the bytes written.
func (w *Writer) WriteTo(out io.Writer, data TensorData) (int64, error) {
	cw := &countWriter{w: out}
	bw := bufio.NewWriterSize(cw, 1<<20)
	e := &encoder{w: bw}
	e.u32(magic)
	e.u32(3)
	e.u64(uint64(len(w.tensors)))
	e.u64(uint64(len(w.kv)))
	for _, kv := range w.kv {
		e.str(kv.Key)
		e.u32(uint32(kv.Value.Type))
		e.value(kv.Value)
	}
	for _, ti := range w.tensors {
		e.str(ti.Name)
		e.u32(uint32(len(ti.Dims)))
		for _, d := range ti.Dims {
			e.u64(d)
		}
		e.u32(uint32(ti.Type))
		e.u64(ti.Offset)
	}
	if e.err != nil {
		return cw.n, e.err
	}
	if err := bw.Flush(); err != nil {
		return cw.n, err
	}
	if len(w.tensors) == 0 {
		return cw.n, nil
	}
	if err := zeros(bw, pad(int(cw.n), w.align)-int(cw.n)); err != nil {
		return cw.n, err
	}
	for i, ti := range w.tensors {
		want := ti.NumBytes()
		lw := &limitWriter{w: bw, left: want}
		if err := data(i, ti, lw); err != nil {
			return cw.n, fmt.Errorf("tensor %q: %w", ti.Name, err)
		}
		if lw.left != 0 {
			return cw.n, fmt.Errorf("tensor %q: wrote %d bytes, want %d", ti.Name, want-lw.left, want)
		}
		if err := zeros(bw, pad(int(want), w.align)-int(want)); err != nil {
			return cw.n, err
		}
	}
	if err := bw.Flush(); err != nil {
		return cw.n, err
	}
	return cw.n, nil
}

var errTooMuch = errors.New("more bytes than the tensor holds")

type limitWriter struct {
	w    io.Writer
	left int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		return 0, errTooMuch
	}
	n, err := l.w.Write(p)
	l.left -= int64(n)
	return n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func zeros(w io.Writer, n int) error {
	var z [256]byte
	for n > 0 {
		k := min(n, len(z))
		if _, err := w.Write(z[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// encoder writes little-endian GGUF primitives, remembering the first error.
type encoder struct {
	w   *bufio.Writer
	err error
	buf [8]byte
}

func (e *encoder) write(p []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(p)
	}
}
func (e *encoder) u8(v uint8) { e.write([]byte{v}) }
func (e *encoder) u16(v uint16) {
	binary.LittleEndian.PutUint16(e.buf[:], v)
	e.write(e.buf[:2])
}
func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.buf[:], v)
	e.write(e.buf[:4])
}
func (e *encoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.buf[:], v)
	e.write(e.buf[:8])
}
func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}

func (e *encoder) value(v Value) {
	if v.Type == TypeArray {
		e.u32(uint32(v.Elem))
		e.u64(uint64(v.Len()))
		e.array(v)
		return
	}
	e.scalar(v.x)
}

func (e *encoder) scalar(x any) {
	switch x := x.(type) {
	case uint8:
		e.u8(x)
	case int8:
		e.u8(uint8(x))
	case bool:
		if x {
			e.u8(1)
		} else {
			e.u8(0)
		}
	case uint16:
		e.u16(x)
	case int16:
		e.u16(uint16(x))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	case string:
		e.str(x)
	default:
		if e.err == nil {
			e.err = fmt.Errorf("cannot encode %T", x)
		}
	}
}

func (e *encoder) array(v Value) {
	switch a := v.x.(type) {
	case []uint8:
		e.write(a)
	case []int8:
		each(e, a)
	case []bool:
		each(e, a)
	case []uint16:
		each(e, a)
	case []int16:
		each(e, a)
	case []uint32:
		each(e, a)
	case []int32:
		each(e, a)
	case []float32:
		each(e, a)
	case []uint64:
		each(e, a)
	case []int64:
		each(e, a)
	case []float64:
		each(e, a)
	case []string:
		for _, s := range a {
			e.str(s)
		}
	case []Value:
		for _, x := range a {
			e.value(x)
		}
	}
}

func each[T any](e *encoder, a []T) {
	for _, x := range a {
		e.scalar(x)
	}
}
