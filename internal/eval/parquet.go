package eval

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
)

// readParquet reads the rows of a flat Parquet file (the layout Hugging
// Face datasets publish) as records: required or optional top-level columns
// of BOOLEAN, INT32, INT64, FLOAT, DOUBLE or BYTE_ARRAY, PLAIN or
// dictionary encoded, data pages v1 or v2, uncompressed, Snappy or gzip.
// Columns of other types, and nested ones, are left out of the records, so a
// task that needs them reports the field as missing.
func readParquet(path string) ([]record, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	recs, err := parseParquet(data)
	if err != nil {
		return nil, fmt.Errorf("parquet %s: %w", path, err)
	}
	return recs, nil
}

type pqColumn struct {
	name     string
	typ      int32
	optional bool
	skip     bool
}

func parseParquet(data []byte) ([]record, error) {
	if len(data) < 12 || string(data[:4]) != "PAR1" || string(data[len(data)-4:]) != "PAR1" {
		return nil, errors.New("not a Parquet file (PAR1 magic missing)")
	}
	n := int(binary.LittleEndian.Uint32(data[len(data)-8:]))
	if n <= 0 || n > len(data)-12 {
		return nil, fmt.Errorf("footer length %d out of range", n)
	}
	d := &thrift{b: data[len(data)-8-n : len(data)-8]}
	meta, err := d.fileMeta()
	if err != nil {
		return nil, fmt.Errorf("footer: %w", err)
	}
	cols, err := meta.columns()
	if err != nil {
		return nil, err
	}
	var out []record
	for gi, g := range meta.groups {
		if g.rows < 0 || g.rows > int64(len(data))*8 {
			return nil, fmt.Errorf("row group %d: %d rows", gi, g.rows)
		}
		rows := make([]record, g.rows)
		for i := range rows {
			rows[i] = record{line: len(out) + i + 1, m: map[string]json.RawMessage{}}
		}
		if len(g.chunks) != len(cols) {
			return nil, fmt.Errorf("row group %d: %d column chunks for %d columns", gi, len(g.chunks), len(cols))
		}
		for ci, c := range cols {
			if c.skip {
				continue
			}
			vals, err := readChunk(data, g.chunks[ci], c, int(g.rows))
			if err != nil {
				return nil, fmt.Errorf("row group %d: column %q: %w", gi, c.name, err)
			}
			for i, v := range vals {
				rows[i].m[c.name] = v
			}
		}
		out = append(out, rows...)
	}
	return out, nil
}

// Parquet physical types and codecs.
const (
	pqBoolean   = 0
	pqInt32     = 1
	pqInt64     = 2
	pqFloat     = 4
	pqDouble    = 5
	pqByteArray = 6
)

func (m *pqMeta) columns() ([]pqColumn, error) {
	if len(m.schema) == 0 {
		return nil, errors.New("empty schema")
	}
	var cols []pqColumn
	i := 1
	// leaves appends the leaf columns of the element at i and its
	// descendants; only top-level leaves are read, nested ones are skipped.
	var leaves func(top bool) error
	leaves = func(top bool) error {
		if i >= len(m.schema) {
			return errors.New("schema ends inside a group")
		}
		e := m.schema[i]
		i++
		if e.children > 0 {
			if e.children > int32(len(m.schema)) {
				return fmt.Errorf("group %q: %d children", e.name, e.children)
			}
			for range e.children {
				if err := leaves(false); err != nil {
					return err
				}
			}
			return nil
		}
		c := pqColumn{name: e.name, typ: e.typ, optional: e.repetition == 1}
		switch {
		case !top, e.repetition == 2: // lists and structs are not read
			c.skip = true
		case e.typ != pqBoolean && e.typ != pqInt32 && e.typ != pqInt64 && e.typ != pqFloat && e.typ != pqDouble && e.typ != pqByteArray:
			c.skip = true
		}
		cols = append(cols, c)
		return nil
	}
	for i < len(m.schema) {
		if err := leaves(true); err != nil {
			return nil, err
		}
	}
	return cols, nil
}

// readChunk decodes one column chunk into n JSON values.
func readChunk(data []byte, ch pqChunk, c pqColumn, n int) ([]json.RawMessage, error) {
	if ch.typ != c.typ {
		return nil, fmt.Errorf("chunk type %d, schema type %d", ch.typ, c.typ)
	}
	off := ch.dataOffset
	if ch.dictOffset > 0 && ch.dictOffset < off {
		off = ch.dictOffset
	}
	var dict, out []json.RawMessage
	for len(out) < n {
		if off < 0 || off >= int64(len(data)) {
			return nil, fmt.Errorf("page offset %d outside the file", off)
		}
		d := &thrift{b: data[off:]}
		h, err := d.pageHeader()
		if err != nil {
			return nil, fmt.Errorf("page header at %d: %w", off, err)
		}
		start := off + int64(d.p)
		end := start + int64(h.compressed)
		if h.compressed < 0 || end > int64(len(data)) {
			return nil, fmt.Errorf("page at %d: %d bytes past the end of the file", off, h.compressed)
		}
		body := data[start:end]
		off = end
		switch h.typ {
		case 2: // dictionary page
			raw, err := decompress(ch.codec, body, h.uncompressed)
			if err != nil {
				return nil, err
			}
			if dict, _, err = plainValues(raw, c.typ, int(h.dictValues)); err != nil {
				return nil, fmt.Errorf("dictionary page: %w", err)
			}
		case 0, 3:
			if h.values < 0 || int(h.values) > n-len(out) {
				return nil, fmt.Errorf("data page at %d: %d values, %d rows left", start, h.values, n-len(out))
			}
			vals, err := dataPage(h, body, ch.codec, c, dict)
			if err != nil {
				return nil, fmt.Errorf("data page at %d: %w", start, err)
			}
			out = append(out, vals...)
		default:
			// index pages and the like carry no values
		}
	}
	if len(out) != n {
		return nil, fmt.Errorf("%d values for %d rows", len(out), n)
	}
	return out, nil
}

func dataPage(h pqPage, body []byte, codec int32, c pqColumn, dict []json.RawMessage) ([]json.RawMessage, error) {
	n := int(h.values)
	var defs []uint32
	var vals []byte
	if h.typ == 0 {
		raw, err := decompress(codec, body, h.uncompressed)
		if err != nil {
			return nil, err
		}
		if c.optional {
			if len(raw) < 4 {
				return nil, errors.New("definition levels truncated")
			}
			l := int(binary.LittleEndian.Uint32(raw))
			if l < 0 || l > len(raw)-4 {
				return nil, fmt.Errorf("definition levels of %d bytes in a %d-byte page", l, len(raw))
			}
			if defs, err = rleHybrid(raw[4:4+l], 1, n); err != nil {
				return nil, fmt.Errorf("definition levels: %w", err)
			}
			raw = raw[4+l:]
		}
		vals = raw
	} else {
		rl, dl := int(h.repLen), int(h.defLen)
		if rl < 0 || dl < 0 || rl+dl > len(body) {
			return nil, fmt.Errorf("level lengths %d+%d in a %d-byte page", rl, dl, len(body))
		}
		if c.optional {
			var err error
			if defs, err = rleHybrid(body[rl:rl+dl], 1, n); err != nil {
				return nil, fmt.Errorf("definition levels: %w", err)
			}
		}
		vals = body[rl+dl:]
		if h.compressedV2 {
			var err error
			if vals, err = decompress(codec, vals, h.uncompressed-int32(rl+dl)); err != nil {
				return nil, err
			}
		}
	}
	present := n
	if defs != nil {
		present = 0
		for _, d := range defs {
			if d > 1 {
				return nil, fmt.Errorf("definition level %d of a top-level column", d)
			}
			present += int(d)
		}
	}
	var got []json.RawMessage
	switch h.encoding {
	case 0: // PLAIN
		var err error
		if got, _, err = plainValues(vals, c.typ, present); err != nil {
			return nil, err
		}
	case 2, 8: // PLAIN_DICTIONARY, RLE_DICTIONARY
		if dict == nil {
			return nil, errors.New("dictionary-encoded page without a dictionary page")
		}
		if len(vals) < 1 {
			return nil, errors.New("dictionary indices truncated")
		}
		idx, err := rleHybrid(vals[1:], int(vals[0]), present)
		if err != nil {
			return nil, fmt.Errorf("dictionary indices: %w", err)
		}
		for _, i := range idx {
			if int(i) >= len(dict) {
				return nil, fmt.Errorf("dictionary index %d of %d entries", i, len(dict))
			}
			got = append(got, dict[i])
		}
	default:
		return nil, fmt.Errorf("encoding %d not supported (PLAIN and dictionary only)", h.encoding)
	}
	if defs == nil {
		return got, nil
	}
	out := make([]json.RawMessage, n)
	k := 0
	for i, d := range defs {
		if d == 0 {
			out[i] = json.RawMessage("null")
			continue
		}
		out[i] = got[k]
		k++
	}
	return out, nil
}

// plainValues decodes n PLAIN values of type typ as JSON.
func plainValues(b []byte, typ int32, n int) ([]json.RawMessage, int, error) {
	if n < 0 {
		return nil, 0, fmt.Errorf("%d values", n)
	}
	out := make([]json.RawMessage, 0, min(n, len(b)*8+1))
	p := 0
	need := func(k int) error {
		if k < 0 || p+k > len(b) {
			return fmt.Errorf("value %d of %d truncated at byte %d", len(out)+1, n, p)
		}
		return nil
	}
	for range n {
		var v []byte
		switch typ {
		case pqBoolean:
			bit := len(out)
			if err := need(0); err != nil || bit/8 >= len(b) {
				return nil, 0, fmt.Errorf("boolean %d truncated", bit+1)
			}
			v = strconv.AppendBool(nil, b[bit/8]>>(bit%8)&1 == 1)
		case pqInt32:
			if err := need(4); err != nil {
				return nil, 0, err
			}
			v = strconv.AppendInt(nil, int64(int32(binary.LittleEndian.Uint32(b[p:]))), 10)
			p += 4
		case pqInt64:
			if err := need(8); err != nil {
				return nil, 0, err
			}
			v = strconv.AppendInt(nil, int64(binary.LittleEndian.Uint64(b[p:])), 10)
			p += 8
		case pqFloat, pqDouble:
			var f float64
			if typ == pqFloat {
				if err := need(4); err != nil {
					return nil, 0, err
				}
				f = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[p:])))
				p += 4
			} else {
				if err := need(8); err != nil {
					return nil, 0, err
				}
				f = math.Float64frombits(binary.LittleEndian.Uint64(b[p:]))
				p += 8
			}
			if math.IsNaN(f) || math.IsInf(f, 0) {
				v = []byte("null")
			} else {
				v = strconv.AppendFloat(nil, f, 'g', -1, 64)
			}
		case pqByteArray:
			if err := need(4); err != nil {
				return nil, 0, err
			}
			l := int(binary.LittleEndian.Uint32(b[p:]))
			p += 4
			if err := need(l); err != nil {
				return nil, 0, err
			}
			var err error
			if v, err = json.Marshal(string(b[p : p+l])); err != nil {
				return nil, 0, err
			}
			p += l
		default:
			return nil, 0, fmt.Errorf("physical type %d not supported", typ)
		}
		out = append(out, v)
	}
	if typ == pqBoolean {
		p = (n + 7) / 8
	}
	return out, p, nil
}

// rleHybrid decodes n values of the RLE / bit-packing hybrid encoding.
func rleHybrid(b []byte, width, n int) ([]uint32, error) {
	if width < 0 || width > 32 {
		return nil, fmt.Errorf("bit width %d", width)
	}
	out := make([]uint32, 0, min(n, 1<<16))
	p := 0
	for len(out) < n {
		h, k := binary.Uvarint(b[p:])
		if k <= 0 {
			return nil, fmt.Errorf("run header truncated at byte %d (%d of %d values)", p, len(out), n)
		}
		p += k
		if h&1 == 0 { // RLE run
			cnt := int(h >> 1)
			w := (width + 7) / 8
			if p+w > len(b) || cnt < 0 {
				return nil, fmt.Errorf("RLE run truncated at byte %d", p)
			}
			var v uint32
			for i := range w {
				v |= uint32(b[p+i]) << (8 * i)
			}
			p += w
			for i := 0; i < cnt && len(out) < n; i++ {
				out = append(out, v)
			}
			continue
		}
		groups := int(h >> 1)
		nb := groups * width // 8 values of width bits per group = width bytes
		if groups < 0 || nb < 0 || p+nb > len(b) {
			return nil, fmt.Errorf("bit-packed run of %d groups truncated at byte %d", groups, p)
		}
		for i := 0; i < groups*8 && len(out) < n; i++ {
			var v uint32
			for j := 0; j < width; j++ {
				bit := i*width + j
				v |= uint32(b[p+bit/8]>>(bit%8)&1) << j
			}
			out = append(out, v)
		}
		p += nb
	}
	return out, nil
}

func decompress(codec int32, b []byte, size int32) ([]byte, error) {
	switch codec {
	case 0:
		return b, nil
	case 1:
		return snappyDecode(b)
	case 2:
		r, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		out, err := io.ReadAll(io.LimitReader(r, int64(size)+1))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return out, nil
	case 6:
		return nil, errors.New("zstd-compressed pages are not supported (re-save the file with snappy or gzip, or as JSON lines)")
	}
	return nil, fmt.Errorf("compression codec %d not supported (uncompressed, snappy, gzip)", codec)
}

// snappyDecode decodes a Snappy block (not the framed format).
func snappyDecode(b []byte) ([]byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > 1<<30 {
		return nil, errors.New("snappy: bad length header")
	}
	out := make([]byte, 0, n)
	p := k
	for p < len(b) {
		tag := b[p]
		p++
		switch tag & 3 {
		case 0:
			l := int(tag >> 2)
			if l >= 60 {
				nb := l - 59
				if p+nb > len(b) {
					return nil, errors.New("snappy: literal length truncated")
				}
				l = 0
				for i := range nb {
					l |= int(b[p+i]) << (8 * i)
				}
				p += nb
			}
			l++
			if l <= 0 || p+l > len(b) {
				return nil, errors.New("snappy: literal truncated")
			}
			out = append(out, b[p:p+l]...)
			p += l
			continue
		case 1:
			if p >= len(b) {
				return nil, errors.New("snappy: copy truncated")
			}
			l, o := 4+int(tag>>2&7), int(tag>>5)<<8|int(b[p])
			p++
			if err := snappyCopy(&out, o, l); err != nil {
				return nil, err
			}
		case 2:
			if p+2 > len(b) {
				return nil, errors.New("snappy: copy truncated")
			}
			l, o := 1+int(tag>>2), int(binary.LittleEndian.Uint16(b[p:]))
			p += 2
			if err := snappyCopy(&out, o, l); err != nil {
				return nil, err
			}
		case 3:
			if p+4 > len(b) {
				return nil, errors.New("snappy: copy truncated")
			}
			l, o := 1+int(tag>>2), int(binary.LittleEndian.Uint32(b[p:]))
			p += 4
			if err := snappyCopy(&out, o, l); err != nil {
				return nil, err
			}
		}
		if uint64(len(out)) > n {
			return nil, errors.New("snappy: output longer than its header")
		}
	}
	if uint64(len(out)) != n {
		return nil, fmt.Errorf("snappy: %d bytes decoded, header says %d", len(out), n)
	}
	return out, nil
}

func snappyCopy(out *[]byte, off, l int) error {
	if off <= 0 || off > len(*out) {
		return fmt.Errorf("snappy: copy offset %d with %d bytes decoded", off, len(*out))
	}
	s := len(*out) - off
	for i := range l {
		*out = append(*out, (*out)[s+i])
	}
	return nil
}
