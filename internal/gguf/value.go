package gguf

import (
	"fmt"
	"math"
)

// ValueType is a GGUF metadata value type (gguf_type).
type ValueType uint32

const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var typeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array", "uint64", "int64", "float64"}

func (t ValueType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("gguf_type(%d)", uint32(t))
}

// scalarSize is the encoded size of a fixed-size scalar, 0 for string/array.
func (t ValueType) scalarSize() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

func (t ValueType) valid() bool { return t <= TypeFloat64 }

// KV is one metadata entry.
type KV struct {
	Key   string
	Value Value
}

// Value is a GGUF metadata value. Scalars hold the Go type matching Type
// (uint8 … float64, bool, string). Arrays (Type == TypeArray) hold a typed
// slice ([]uint8 … []float64, []bool, []string) for element type Elem, or
// []Value when Elem == TypeArray (nested arrays).
type Value struct {
	Type ValueType
	Elem ValueType // element type when Type == TypeArray
	x    any
}

// Any returns the underlying Go value (see Value for the possible types).
func (v Value) Any() any { return v.x }

// Len is the element count of an array value, or 0 for scalars.
func (v Value) Len() int {
	if v.Type != TypeArray {
		return 0
	}
	switch a := v.x.(type) {
	case []uint8:
		return len(a)
	case []int8:
		return len(a)
	case []uint16:
		return len(a)
	case []int16:
		return len(a)
	case []uint32:
		return len(a)
	case []int32:
		return len(a)
	case []uint64:
		return len(a)
	case []int64:
		return len(a)
	case []float32:
		return len(a)
	case []float64:
		return len(a)
	case []bool:
		return len(a)
	case []string:
		return len(a)
	case []Value:
		return len(a)
	}
	return 0
}

func (v Value) String() string {
	if v.Type == TypeArray {
		return fmt.Sprintf("[%s × %d]", v.Elem, v.Len())
	}
	if s, ok := v.x.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v.x)
}

// ValueOf wraps a Go value: a Value is returned as is; int and uint map to
// int64/uint64 (GGUF has no native int); slices of the scalar types map to
// arrays; []Value maps to a nested array whose elements must all be arrays of
// the same element type, or all scalars of one type.
func ValueOf(x any) (Value, error) {
	switch x := x.(type) {
	case Value:
		return x, nil
	case uint8:
		return Value{Type: TypeUint8, x: x}, nil
	case int8:
		return Value{Type: TypeInt8, x: x}, nil
	case uint16:
		return Value{Type: TypeUint16, x: x}, nil
	case int16:
		return Value{Type: TypeInt16, x: x}, nil
	case uint32:
		return Value{Type: TypeUint32, x: x}, nil
	case int32:
		return Value{Type: TypeInt32, x: x}, nil
	case uint64:
		return Value{Type: TypeUint64, x: x}, nil
	case int64:
		return Value{Type: TypeInt64, x: x}, nil
	case int:
		return Value{Type: TypeInt64, x: int64(x)}, nil
	case uint:
		return Value{Type: TypeUint64, x: uint64(x)}, nil
	case float32:
		return Value{Type: TypeFloat32, x: x}, nil
	case float64:
		return Value{Type: TypeFloat64, x: x}, nil
	case bool:
		return Value{Type: TypeBool, x: x}, nil
	case string:
		return Value{Type: TypeString, x: x}, nil
	case []uint8:
		return arr(TypeUint8, x), nil
	case []int8:
		return arr(TypeInt8, x), nil
	case []uint16:
		return arr(TypeUint16, x), nil
	case []int16:
		return arr(TypeInt16, x), nil
	case []uint32:
		return arr(TypeUint32, x), nil
	case []int32:
		return arr(TypeInt32, x), nil
	case []uint64:
		return arr(TypeUint64, x), nil
	case []int64:
		return arr(TypeInt64, x), nil
	case []float32:
		return arr(TypeFloat32, x), nil
	case []float64:
		return arr(TypeFloat64, x), nil
	case []bool:
		return arr(TypeBool, x), nil
	case []string:
		return arr(TypeString, x), nil
	case []int:
		a := make([]int64, len(x))
		for i, v := range x {
			a[i] = int64(v)
		}
		return arr(TypeInt64, a), nil
	case []Value:
		return nestedArray(x)
	}
	return Value{}, fmt.Errorf("gguf: cannot encode %T as a metadata value", x)
}

func arr(elem ValueType, x any) Value { return Value{Type: TypeArray, Elem: elem, x: x} }

// nestedArray accepts only []Value whose members are all arrays (GGUF stores
// each inner array's own type and length), since a scalar Value list would
// have no single element type to record.
func nestedArray(vs []Value) (Value, error) {
	for i, v := range vs {
		if v.Type != TypeArray {
			return Value{}, fmt.Errorf("gguf: nested array element %d is %s, not an array", i, v.Type)
		}
	}
	return arr(TypeArray, vs), nil
}

// Uint returns v as uint64 if it is an integer of any width that is >= 0.
func (v Value) Uint() (uint64, bool) {
	switch x := v.x.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	}
	if i, ok := v.Int(); ok && i >= 0 {
		return uint64(i), true
	}
	return 0, false
}

// Int returns v as int64 if it is an integer of any width that fits.
func (v Value) Int() (int64, bool) {
	switch x := v.x.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8, uint16, uint32:
		u, _ := v.Uint()
		return int64(u), true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}

// Float returns v as float64 if it is a float32 or float64.
func (v Value) Float() (float64, bool) {
	switch x := v.x.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// Bool returns v if it is a bool.
func (v Value) Bool() (bool, bool) { b, ok := v.x.(bool); return b, ok }

// Str returns v if it is a string.
func (v Value) Str() (string, bool) { s, ok := v.x.(string); return s, ok }
