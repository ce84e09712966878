package eval

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// thrift reads the Thrift compact protocol Parquet's metadata is written in.
type thrift struct {
	b     []byte
	p     int
	depth int
}

var errThriftShort = errors.New("thrift: truncated")

func (d *thrift) byte() (byte, error) {
	if d.p >= len(d.b) {
		return 0, errThriftShort
	}
	d.p++
	return d.b[d.p-1], nil
}

func (d *thrift) uvarint() (uint64, error) {
	v, k := binary.Uvarint(d.b[d.p:])
	if k <= 0 {
		return 0, errThriftShort
	}
	d.p += k
	return v, nil
}

func (d *thrift) int() (int64, error) {
	v, err := d.uvarint()
	return int64(v>>1) ^ -int64(v&1), err
}

func (d *thrift) binary() ([]byte, error) {
	n, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(d.b)-d.p) {
		return nil, errThriftShort
	}
	d.p += int(n)
	return d.b[d.p-int(n) : d.p], nil
}

// Compact protocol type ids.
const (
	ctTrue, ctFalse, ctByte, ctI16, ctI32, ctI64, ctDouble, ctBinary, ctList, ctSet, ctMap, ctStruct = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
)

// fields calls fn for each field of a struct; fn reads the value of the
// fields it knows and returns false for the others, which are skipped.
func (d *thrift) fields(fn func(id int16, typ byte) (bool, error)) error {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > 32 {
		return errors.New("thrift: nesting too deep")
	}
	var last int16
	for {
		h, err := d.byte()
		if err != nil {
			return err
		}
		if h == 0 {
			return nil
		}
		typ := h & 0x0f
		id := last + int16(h>>4)
		if h>>4 == 0 {
			v, err := d.int()
			if err != nil {
				return err
			}
			id = int16(v)
		}
		last = id
		ok, err := fn(id, typ)
		if err != nil {
			return fmt.Errorf("field %d: %w", id, err)
		}
		if !ok {
			if err := d.skip(typ); err != nil {
				return fmt.Errorf("field %d: %w", id, err)
			}
		}
	}
}

func (d *thrift) list(fn func(elem byte) error) error {
	h, err := d.byte()
	if err != nil {
		return err
	}
	n, elem := uint64(h>>4), h&0x0f
	if n == 15 {
		if n, err = d.uvarint(); err != nil {
			return err
		}
	}
	if n > uint64(len(d.b)-d.p) { // every element takes at least one byte
		return errThriftShort
	}
	for range n {
		if err := fn(elem); err != nil {
			return err
		}
	}
	return nil
}

func (d *thrift) skip(typ byte) error {
	switch typ {
	case ctTrue, ctFalse:
		return nil
	case ctByte:
		_, err := d.byte()
		return err
	case ctI16, ctI32, ctI64:
		_, err := d.uvarint()
		return err
	case ctDouble:
		if d.p+8 > len(d.b) {
			return errThriftShort
		}
		d.p += 8
		return nil
	case ctBinary:
		_, err := d.binary()
		return err
	case ctList, ctSet:
		return d.list(d.skip)
	case ctMap:
		n, err := d.uvarint()
		if err != nil || n == 0 {
			return err
		}
		kv, err := d.byte()
		if err != nil {
			return err
		}
		if n > uint64(len(d.b)-d.p) {
			return errThriftShort
		}
		for range n {
			if err := d.skip(kv >> 4); err != nil {
				return err
			}
			if err := d.skip(kv & 0x0f); err != nil {
				return err
			}
		}
		return nil
	case ctStruct:
		return d.fields(func(int16, byte) (bool, error) { return false, nil })
	}
	return fmt.Errorf("thrift: unknown type %d", typ)
}

// i32 and i64 read an integer field of the expected type.
func (d *thrift) i32(typ byte) (int32, error) {
	if typ != ctI32 && typ != ctI16 && typ != ctByte {
		return 0, fmt.Errorf("thrift: type %d where an i32 belongs", typ)
	}
	if typ == ctByte {
		b, err := d.byte()
		return int32(int8(b)), err
	}
	v, err := d.int()
	return int32(v), err
}

func (d *thrift) i64(typ byte) (int64, error) {
	if typ != ctI64 && typ != ctI32 {
		return 0, fmt.Errorf("thrift: type %d where an i64 belongs", typ)
	}
	return d.int()
}

type pqSchema struct {
	name            string
	typ, repetition int32
	children        int32
}

type pqChunk struct {
	typ, codec             int32
	dataOffset, dictOffset int64
}

type pqGroup struct {
	rows   int64
	chunks []pqChunk
}

type pqMeta struct {
	schema []pqSchema
	groups []pqGroup
}

type pqPage struct {
	typ, uncompressed, compressed int32
	values, encoding              int32
	dictValues                    int32
	defLen, repLen                int32
	compressedV2                  bool
}

func (d *thrift) fileMeta() (*pqMeta, error) {
	m := &pqMeta{}
	err := d.fields(func(id int16, typ byte) (bool, error) {
		switch {
		case id == 2 && typ == ctList:
			return true, d.list(func(byte) error {
				e := pqSchema{typ: -1}
				err := d.fields(func(id int16, typ byte) (bool, error) {
					var err error
					switch id {
					case 1:
						e.typ, err = d.i32(typ)
					case 3:
						e.repetition, err = d.i32(typ)
					case 4:
						var b []byte
						b, err = d.binary()
						e.name = string(b)
					case 5:
						e.children, err = d.i32(typ)
					default:
						return false, nil
					}
					return true, err
				})
				m.schema = append(m.schema, e)
				return err
			})
		case id == 4 && typ == ctList:
			return true, d.list(func(byte) error {
				g, err := d.rowGroup()
				m.groups = append(m.groups, g)
				return err
			})
		}
		return false, nil
	})
	return m, err
}

func (d *thrift) rowGroup() (pqGroup, error) {
	var g pqGroup
	err := d.fields(func(id int16, typ byte) (bool, error) {
		switch {
		case id == 1 && typ == ctList:
			return true, d.list(func(byte) error {
				var c pqChunk
				err := d.fields(func(id int16, typ byte) (bool, error) {
					if id != 3 || typ != ctStruct {
						return false, nil
					}
					return true, d.fields(func(id int16, typ byte) (bool, error) {
						var err error
						switch id {
						case 1:
							c.typ, err = d.i32(typ)
						case 4:
							c.codec, err = d.i32(typ)
						case 9:
							c.dataOffset, err = d.i64(typ)
						case 11:
							c.dictOffset, err = d.i64(typ)
						default:
							return false, nil
						}
						return true, err
					})
				})
				g.chunks = append(g.chunks, c)
				return err
			})
		case id == 3:
			var err error
			g.rows, err = d.i64(typ)
			return true, err
		}
		return false, nil
	})
	return g, err
}

func (d *thrift) pageHeader() (pqPage, error) {
	h := pqPage{compressedV2: true}
	err := d.fields(func(id int16, typ byte) (bool, error) {
		var err error
		switch id {
		case 1:
			h.typ, err = d.i32(typ)
		case 2:
			h.uncompressed, err = d.i32(typ)
		case 3:
			h.compressed, err = d.i32(typ)
		case 5, 7, 8:
			if typ != ctStruct {
				return false, nil
			}
			return true, d.fields(func(sub int16, typ byte) (bool, error) {
				var err error
				switch {
				case id == 7 && sub == 1:
					h.dictValues, err = d.i32(typ)
				case id != 7 && sub == 1:
					h.values, err = d.i32(typ)
				case id == 5 && sub == 2, id == 8 && sub == 4:
					h.encoding, err = d.i32(typ)
				case id == 8 && sub == 5:
					h.defLen, err = d.i32(typ)
				case id == 8 && sub == 6:
					h.repLen, err = d.i32(typ)
				case id == 8 && sub == 7:
					h.compressedV2 = typ == ctTrue
				default:
					return false, nil
				}
				return true, err
			})
		default:
			return false, nil
		}
		return true, err
	})
	return h, err
}
