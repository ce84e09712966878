// Package gguf reads and writes GGUF files (versions 2 and 3), the format of
// llama.cpp. Reading memory-maps the file; tensor data is returned as slices of
// the mapping without copying. Writing streams tensor data and is atomic.
package gguf

import (
	"errors"
	"fmt"

	"github.com/bayling-go/bayling/internal/mmap"
	"github.com/bayling-go/bayling/internal/tensor"
)

const (
	magic            = 0x46554747 // "GGUF" little-endian
	DefaultAlignment = 32
	// MaxNameLen is ggml's GGML_MAX_NAME: tensor names must be shorter.
	MaxNameLen = 64
	// MaxDims is ggml's GGML_MAX_DIMS.
	MaxDims = 4
	// KeyAlignment is the metadata key that overrides DefaultAlignment.
	KeyAlignment = "general.alignment"
)

// File is a parsed GGUF file. Tensor data slices alias the file mapping and
// become invalid after Close.
type File struct {
	Path       string
	Version    uint32
	Alignment  int
	KV         []KV // in file order
	Tensors    []TensorInfo
	DataOffset int64 // start of the tensor data section
	Size       int64 // file size in bytes

	data    []byte
	mapped  []byte // non-nil when Open mapped the file
	kvOff   []int64
	kvIdx   map[string]int
	tensIdx map[string]int
}

// TensorInfo describes one tensor. Dims are in GGUF order (ne[0], the
// fastest-varying dimension, first); Offset is relative to File.DataOffset.
type TensorInfo struct {
	Name   string
	Dims   []uint64
	Type   tensor.DType
	Offset uint64
}

// Shape is Dims reversed: row-major, outermost first.
func (t TensorInfo) Shape() []int {
	s := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		s[len(t.Dims)-1-i] = int(d)
	}
	return s
}

// NumElements is the product of Dims.
func (t TensorInfo) NumElements() int64 {
	n, _ := numElements(t.Dims)
	return n
}

// NumBytes is the size of the tensor's data.
func (t TensorInfo) NumBytes() int64 {
	n, _ := tensorBytes(t.Dims, t.Type)
	return n
}

// numElements multiplies dims, failing on overflow of int64.
func numElements(dims []uint64) (int64, error) {
	const maxI64 = 1<<63 - 1
	n := uint64(1)
	for _, d := range dims {
		if d > maxI64 {
			return 0, fmt.Errorf("dimension %d out of range", d)
		}
		if d != 0 && n > maxI64/d {
			return 0, fmt.Errorf("shape %v has too many elements", dims)
		}
		n *= d
	}
	return int64(n), nil
}

// tensorBytes is ggml_nbytes for a contiguous tensor of type t.
func tensorBytes(dims []uint64, t tensor.DType) (int64, error) {
	if !t.Known() {
		return 0, fmt.Errorf("unknown ggml type %d", uint32(t))
	}
	n, err := numElements(dims)
	if err != nil {
		return 0, err
	}
	be := uint64(t.BlockElems())
	row := uint64(1) // ggml treats absent dimensions as 1
	if len(dims) > 0 {
		row = dims[0]
	}
	if row%be != 0 {
		return 0, fmt.Errorf("%s row of %d elements is not a multiple of the block size %d", t, row, be)
	}
	blocks := uint64(n) / be
	bb := uint64(t.BlockBytes())
	if blocks > (1<<63-1)/bb {
		return 0, fmt.Errorf("shape %v of %s is too large", dims, t)
	}
	return int64(blocks * bb), nil
}

// Open memory-maps path and parses it. The mapping is private
// (copy-on-write): the file is never written, but a loader may rearrange
// tensor data in place (kernels.Pack).
func Open(path string) (*File, error) {
	m, err := mmap.MapPrivate(path, 24, "a GGUF header")
	if err != nil {
		return nil, fmt.Errorf("gguf %s: %w", path, err)
	}
	gf, err := Parse(m, path)
	if err != nil {
		mmap.Unmap(m)
		return nil, err
	}
	gf.mapped = m
	return gf, nil
}

// Close unmaps the file. Tensor data obtained from it must not be used after.
func (f *File) Close() error {
	if f.mapped == nil {
		return nil
	}
	m := f.mapped
	f.mapped, f.data = nil, nil
	if err := mmap.Unmap(m); err != nil {
		return fmt.Errorf("gguf %s: %w", f.Path, err)
	}
	return nil
}

// Arch is general.architecture, or "" if absent.
func (f *File) Arch() string {
	s, _ := f.String("general.architecture")
	return s
}

// Get returns the value stored under key.
func (f *File) Get(key string) (Value, bool) {
	i, ok := f.kvIdx[key]
	if !ok {
		return Value{}, false
	}
	return f.KV[i].Value, true
}

// ErrNotFound is wrapped by getters when a key or tensor is absent.
var ErrNotFound = errors.New("not found")

func (f *File) lookup(key string) (Value, int64, error) {
	i, ok := f.kvIdx[key]
	if !ok {
		return Value{}, 0, fmt.Errorf("gguf %s: key %q: %w", f.Path, key, ErrNotFound)
	}
	return f.KV[i].Value, f.kvOff[i], nil
}

func (f *File) typeErr(key string, off int64, v Value, want string) error {
	got := v.Type.String()
	if v.Type == TypeArray {
		got = "array of " + v.Elem.String()
	}
	return fmt.Errorf("gguf %s: key %q at offset %d: is %s, want %s", f.Path, key, off, got, want)
}

// String returns a string value.
func (f *File) String(key string) (string, error) {
	v, off, err := f.lookup(key)
	if err != nil {
		return "", err
	}
	s, ok := v.Str()
	if !ok {
		return "", f.typeErr(key, off, v, "string")
	}
	return s, nil
}

// Uint returns an integer value of any width that is non-negative.
func (f *File) Uint(key string) (uint64, error) {
	v, off, err := f.lookup(key)
	if err != nil {
		return 0, err
	}
	u, ok := v.Uint()
	if !ok {
		return 0, f.typeErr(key, off, v, "non-negative integer")
	}
	return u, nil
}

// Int returns an integer value of any width that fits in int64.
func (f *File) Int(key string) (int64, error) {
	v, off, err := f.lookup(key)
	if err != nil {
		return 0, err
	}
	i, ok := v.Int()
	if !ok {
		return 0, f.typeErr(key, off, v, "integer")
	}
	return i, nil
}

// Float returns a float32 or float64 value; integer values are converted too.
func (f *File) Float(key string) (float64, error) {
	v, off, err := f.lookup(key)
	if err != nil {
		return 0, err
	}
	x, ok := v.Float()
	if i, isInt := v.Int(); !ok && isInt {
		x, ok = float64(i), true
	} else if u, isUint := v.Uint(); !ok && isUint {
		x, ok = float64(u), true
	}
	if !ok {
		return 0, f.typeErr(key, off, v, "float")
	}
	return x, nil
}

// Bool returns a bool value.
func (f *File) Bool(key string) (bool, error) {
	v, off, err := f.lookup(key)
	if err != nil {
		return false, err
	}
	b, ok := v.Bool()
	if !ok {
		return false, f.typeErr(key, off, v, "bool")
	}
	return b, nil
}

// Strings returns an array of strings (shared with the File; do not modify).
func (f *File) Strings(key string) ([]string, error) {
	v, off, err := f.lookup(key)
	if err != nil {
		return nil, err
	}
	a, ok := v.x.([]string)
	if !ok {
		return nil, f.typeErr(key, off, v, "array of string")
	}
	return a, nil
}

// Float32s returns an array of float32 (shared with the File; do not modify).
func (f *File) Float32s(key string) ([]float32, error) {
	v, off, err := f.lookup(key)
	if err != nil {
		return nil, err
	}
	a, ok := v.x.([]float32)
	if !ok {
		return nil, f.typeErr(key, off, v, "array of float32")
	}
	return a, nil
}

// Int32s returns an array of int32, also accepting narrower integer arrays
// and uint32 arrays whose values fit (widened into a new slice).
func (f *File) Int32s(key string) ([]int32, error) {
	v, off, err := f.lookup(key)
	if err != nil {
		return nil, err
	}
	switch a := v.x.(type) {
	case []int32:
		return a, nil
	case []int8:
		return widen(a), nil
	case []uint8:
		return widen(a), nil
	case []int16:
		return widen(a), nil
	case []uint16:
		return widen(a), nil
	case []uint32:
		out := make([]int32, len(a))
		for i, x := range a {
			if x > 1<<31-1 {
				return nil, fmt.Errorf("gguf %s: key %q at offset %d: element %d = %d overflows int32", f.Path, key, off, i, x)
			}
			out[i] = int32(x)
		}
		return out, nil
	}
	return nil, f.typeErr(key, off, v, "array of int32")
}

func widen[T int8 | uint8 | int16 | uint16](a []T) []int32 {
	out := make([]int32, len(a))
	for i, x := range a {
		out[i] = int32(x)
	}
	return out
}

// TensorInfo returns the description of the named tensor.
func (f *File) TensorInfo(name string) (TensorInfo, bool) {
	i, ok := f.tensIdx[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Tensors[i], true
}

// Tensor returns the named tensor with Data aliasing the file (zero copy).
func (f *File) Tensor(name string) (tensor.Tensor, error) {
	i, ok := f.tensIdx[name]
	if !ok {
		return tensor.Tensor{}, fmt.Errorf("gguf %s: tensor %q: %w", f.Path, name, ErrNotFound)
	}
	if f.data == nil {
		return tensor.Tensor{}, fmt.Errorf("gguf %s: tensor %q: file is closed", f.Path, name)
	}
	ti := f.Tensors[i]
	start := f.DataOffset + int64(ti.Offset)
	end := start + ti.NumBytes() // bounds were validated by Parse
	return tensor.Tensor{Name: ti.Name, Type: ti.Type, Shape: ti.Shape(), Data: f.data[start:end:end]}, nil
}
