package gguf

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/bayling-go/bayling/internal/tensor"
)

// maxNesting bounds nested arrays so a hostile file cannot recurse deeply.
const maxNesting = 16

// decoder reads little-endian GGUF primitives and reports errors with the
// offset at which the failing item starts.
type decoder struct {
	b   []byte
	off int
}

type parseError struct {
	off int
	msg string
}

func (e *parseError) Error() string { return fmt.Sprintf("offset %d: %s", e.off, e.msg) }

func (d *decoder) fail(off int, format string, args ...any) error {
	return &parseError{off: off, msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) remaining() int { return len(d.b) - d.off }

func (d *decoder) bytes(n int, what string) ([]byte, error) {
	if n < 0 || n > d.remaining() {
		return nil, d.fail(d.off, "%s: need %d bytes, only %d left", what, n, d.remaining())
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p, nil
}

func (d *decoder) u32(what string) (uint32, error) {
	p, err := d.bytes(4, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(p), nil
}

func (d *decoder) u64(what string) (uint64, error) {
	p, err := d.bytes(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(p), nil
}

// count reads a uint64 element count and checks that count items of at least
// minSize bytes each fit in the rest of the input, so corrupt counts cannot
// trigger huge allocations.
func (d *decoder) count(minSize int, what string) (int, error) {
	at := d.off
	n, err := d.u64(what)
	if err != nil {
		return 0, err
	}
	if n > uint64(d.remaining()/minSize) {
		return 0, d.fail(at, "%s %d does not fit in the %d bytes left", what, n, d.remaining())
	}
	return int(n), nil
}

func (d *decoder) str(what string) (string, error) {
	at := d.off
	n, err := d.u64(what + " length")
	if err != nil {
		return "", err
	}
	if n > uint64(d.remaining()) {
		return "", d.fail(at, "%s length %d exceeds the %d bytes left", what, n, d.remaining())
	}
	p, _ := d.bytes(int(n), what)
	return string(p), nil
}

// Parse parses a complete GGUF file held in data. name is used in errors and
// as File.Path. The File keeps references into data.
func Parse(data []byte, name string) (*File, error) {
	f, err := parse(data, name)
	if err != nil {
		return nil, fmt.Errorf("gguf %s: %w", name, err)
	}
	return f, nil
}

func parse(data []byte, name string) (*File, error) {
	d := &decoder{b: data}
	m, err := d.u32("magic")
	if err != nil {
		return nil, err
	}
	if m != magic {
		return nil, d.fail(0, "bad magic %q, not a GGUF file", data[:4])
	}
	f := &File{Path: name, data: data, Size: int64(len(data)), Alignment: DefaultAlignment}
	if f.Version, err = d.u32("version"); err != nil {
		return nil, err
	}
	switch {
	case f.Version == 1:
		return nil, d.fail(4, "GGUF version 1 is not supported (re-convert the model with a current llama.cpp)")
	case f.Version != 2 && f.Version != 3:
		if f.Version&0xffff == 0 && f.Version != 0 {
			return nil, d.fail(4, "version field %#x looks byte-swapped: big-endian GGUF is not supported", f.Version)
		}
		return nil, d.fail(4, "unsupported GGUF version %d (want 2 or 3)", f.Version)
	}
	// A tensor info takes at least 24 bytes, a KV at least 13.
	nTensors, err := d.count(24, "tensor count")
	if err != nil {
		return nil, err
	}
	nKV, err := d.count(13, "metadata count")
	if err != nil {
		return nil, err
	}
	if err := f.parseKV(d, nKV); err != nil {
		return nil, err
	}
	if err := f.parseTensorInfos(d, nTensors); err != nil {
		return nil, err
	}
	f.DataOffset = int64(pad(d.off, f.Alignment))
	if f.DataOffset > f.Size && nTensors > 0 {
		return nil, d.fail(d.off, "data section at %d starts past the end of the file (%d bytes)", f.DataOffset, f.Size)
	}
	return f, f.checkTensorData()
}

func pad(n, align int) int { return (n + align - 1) / align * align }

func (f *File) parseKV(d *decoder, n int) error {
	f.KV = make([]KV, 0, n)
	f.kvOff = make([]int64, 0, n)
	f.kvIdx = make(map[string]int, n)
	for i := 0; i < n; i++ {
		at := d.off
		key, err := d.str(fmt.Sprintf("metadata key %d", i))
		if err != nil {
			return err
		}
		if _, dup := f.kvIdx[key]; dup {
			return d.fail(at, "duplicate metadata key %q", key)
		}
		t, err := d.u32(fmt.Sprintf("type of key %q", key))
		if err != nil {
			return err
		}
		v, err := d.value(ValueType(t), 0)
		if err != nil {
			return fmt.Errorf("key %q: %w", key, err)
		}
		f.kvIdx[key] = len(f.KV)
		f.KV = append(f.KV, KV{Key: key, Value: v})
		f.kvOff = append(f.kvOff, int64(at))
	}
	if v, ok := f.Get(KeyAlignment); ok {
		a, err := checkAlignment(v)
		if err != nil {
			return d.fail(int(f.kvOff[f.kvIdx[KeyAlignment]]), "%v", err)
		}
		f.Alignment = a
	}
	return nil
}

func (d *decoder) value(t ValueType, depth int) (Value, error) {
	at := d.off
	if !t.valid() {
		return Value{}, d.fail(at-4, "invalid value type %d", uint32(t))
	}
	if t == TypeArray {
		return d.array(depth)
	}
	if t == TypeString {
		s, err := d.str("string")
		return Value{Type: t, x: s}, err
	}
	p, err := d.bytes(t.scalarSize(), t.String())
	if err != nil {
		return Value{}, err
	}
	return Value{Type: t, x: scalar(t, p)}, nil
}

func scalar(t ValueType, p []byte) any {
	le := binary.LittleEndian
	switch t {
	case TypeUint8:
		return p[0]
	case TypeInt8:
		return int8(p[0])
	case TypeBool:
		return p[0] != 0
	case TypeUint16:
		return le.Uint16(p)
	case TypeInt16:
		return int16(le.Uint16(p))
	case TypeUint32:
		return le.Uint32(p)
	case TypeInt32:
		return int32(le.Uint32(p))
	case TypeFloat32:
		return math.Float32frombits(le.Uint32(p))
	case TypeUint64:
		return le.Uint64(p)
	case TypeInt64:
		return int64(le.Uint64(p))
	case TypeFloat64:
		return math.Float64frombits(le.Uint64(p))
	}
	panic("unreachable")
}

func (d *decoder) array(depth int) (Value, error) {
	at := d.off
	if depth >= maxNesting {
		return Value{}, d.fail(at, "arrays nested deeper than %d", maxNesting)
	}
	et, err := d.u32("array element type")
	if err != nil {
		return Value{}, err
	}
	elem := ValueType(et)
	if !elem.valid() {
		return Value{}, d.fail(at, "invalid array element type %d", et)
	}
	minSize := elem.scalarSize()
	switch elem {
	case TypeString:
		minSize = 8
	case TypeArray:
		minSize = 12
	}
	n, err := d.count(minSize, "array length")
	if err != nil {
		return Value{}, err
	}
	switch elem {
	case TypeString:
		a := make([]string, n)
		for i := range a {
			if a[i], err = d.str(fmt.Sprintf("array element %d", i)); err != nil {
				return Value{}, err
			}
		}
		return arr(elem, a), nil
	case TypeArray:
		a := make([]Value, n)
		for i := range a {
			if a[i], err = d.array(depth + 1); err != nil {
				return Value{}, err
			}
		}
		return arr(elem, a), nil
	}
	p, _ := d.bytes(n*minSize, "array") // size checked by count
	return arr(elem, scalarSlice(elem, p, n)), nil
}

func scalarSlice(t ValueType, p []byte, n int) any {
	le := binary.LittleEndian
	switch t {
	case TypeUint8:
		return append([]uint8(nil), p...)
	case TypeInt8:
		return decodeSlice(n, func(i int) int8 { return int8(p[i]) })
	case TypeBool:
		return decodeSlice(n, func(i int) bool { return p[i] != 0 })
	case TypeUint16:
		return decodeSlice(n, func(i int) uint16 { return le.Uint16(p[2*i:]) })
	case TypeInt16:
		return decodeSlice(n, func(i int) int16 { return int16(le.Uint16(p[2*i:])) })
	case TypeUint32:
		return decodeSlice(n, func(i int) uint32 { return le.Uint32(p[4*i:]) })
	case TypeInt32:
		return decodeSlice(n, func(i int) int32 { return int32(le.Uint32(p[4*i:])) })
	case TypeFloat32:
		return decodeSlice(n, func(i int) float32 { return math.Float32frombits(le.Uint32(p[4*i:])) })
	case TypeUint64:
		return decodeSlice(n, func(i int) uint64 { return le.Uint64(p[8*i:]) })
	case TypeInt64:
		return decodeSlice(n, func(i int) int64 { return int64(le.Uint64(p[8*i:])) })
	case TypeFloat64:
		return decodeSlice(n, func(i int) float64 { return math.Float64frombits(le.Uint64(p[8*i:])) })
	}
	panic("unreachable")
}

func decodeSlice[T any](n int, at func(int) T) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = at(i)
	}
	return out
}

func (f *File) parseTensorInfos(d *decoder, n int) error {
	f.Tensors = make([]TensorInfo, 0, n)
	f.tensIdx = make(map[string]int, n)
	for i := 0; i < n; i++ {
		at := d.off
		name, err := d.str(fmt.Sprintf("tensor %d name", i))
		if err != nil {
			return err
		}
		if len(name) >= MaxNameLen {
			return d.fail(at, "tensor %d name %q is %d bytes, ggml allows at most %d", i, name, len(name), MaxNameLen-1)
		}
		if _, dup := f.tensIdx[name]; dup {
			return d.fail(at, "duplicate tensor name %q", name)
		}
		ti, err := d.tensorInfo(name)
		if err != nil {
			return err
		}
		f.tensIdx[name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, ti)
	}
	return nil
}

func (d *decoder) tensorInfo(name string) (TensorInfo, error) {
	ti := TensorInfo{Name: name}
	at := d.off
	nd, err := d.u32("tensor " + name + " n_dims")
	if err != nil {
		return ti, err
	}
	if nd > MaxDims {
		return ti, d.fail(at, "tensor %q has %d dimensions, at most %d allowed", name, nd, MaxDims)
	}
	ti.Dims = make([]uint64, nd)
	for j := range ti.Dims {
		if ti.Dims[j], err = d.u64("tensor " + name + " dimension"); err != nil {
			return ti, err
		}
	}
	at = d.off
	typ, err := d.u32("tensor " + name + " type")
	if err != nil {
		return ti, err
	}
	ti.Type = tensor.DType(typ)
	if !ti.Type.Known() {
		return ti, d.fail(at, "tensor %q has unknown ggml type %d", name, typ)
	}
	if _, err := tensorBytes(ti.Dims, ti.Type); err != nil {
		return ti, d.fail(at, "tensor %q: %v", name, err)
	}
	ti.Offset, err = d.u64("tensor " + name + " offset")
	return ti, err
}

// checkTensorData verifies each tensor's data lies aligned inside the file.
func (f *File) checkTensorData() error {
	avail := uint64(f.Size - f.DataOffset)
	for _, ti := range f.Tensors {
		nb := uint64(ti.NumBytes())
		if ti.Offset%uint64(f.Alignment) != 0 {
			return fmt.Errorf("tensor %q: data offset %d is not a multiple of the alignment %d", ti.Name, ti.Offset, f.Alignment)
		}
		if ti.Offset > avail || nb > avail-ti.Offset {
			return fmt.Errorf("tensor %q: data [%d, +%d) at file offset %d runs past the end of the file (%d bytes)",
				ti.Name, ti.Offset, nb, f.DataOffset+int64(ti.Offset), f.Size)
		}
	}
	return nil
}

// checkAlignment validates general.alignment: ggml reads it with
// gguf_get_val_u32 (aborting on any other type) and needs a power of two.
func checkAlignment(v Value) (int, error) {
	a, ok := v.Any().(uint32)
	if !ok {
		return 0, fmt.Errorf("%s is %s, must be uint32", KeyAlignment, v.Type)
	}
	if a == 0 || a&(a-1) != 0 || a > 1<<30 {
		return 0, fmt.Errorf("%s = %d is not a power of two", KeyAlignment, a)
	}
	return int(a), nil
}
