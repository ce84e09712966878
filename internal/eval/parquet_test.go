package eval

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tw writes the Thrift compact protocol (long field headers only).
type tw struct{ bytes.Buffer }

func (w *tw) head(id int16, typ byte) {
	w.WriteByte(typ)
	w.Write(binary.AppendUvarint(nil, uint64(int64(id)<<1^int64(id)>>15)))
}
func (w *tw) zz(v int64)                     { w.Write(binary.AppendUvarint(nil, uint64(v<<1^v>>63))) }
func (w *tw) i32(id int16, v int32)          { w.head(id, ctI32); w.zz(int64(v)) }
func (w *tw) i64(id int16, v int64)          { w.head(id, ctI64); w.zz(v) }
func (w *tw) str(id int16, s string)         { w.head(id, ctBinary); w.strVal(s) }
func (w *tw) strVal(s string)                { w.Write(binary.AppendUvarint(nil, uint64(len(s)))); w.WriteString(s) }
func (w *tw) stop()                          { w.WriteByte(0) }
func (w *tw) structField(id int16, f func()) { w.head(id, ctStruct); f(); w.stop() }
func (w *tw) list(id int16, elem byte, n int, f func(i int)) {
	w.head(id, ctList)
	w.WriteByte(byte(n)<<4 | elem) // n < 15 in these tests
	for i := range n {
		f(i)
	}
}

// snappyLiteral is a Snappy block holding b as one literal (b < 60 bytes).
func snappyLiteral(b []byte) []byte {
	out := binary.AppendUvarint(nil, uint64(len(b)))
	out = append(out, byte(len(b)-1)<<2)
	return append(out, b...)
}

type testCol struct {
	name     string
	typ      int32
	optional bool
	dictPage []byte // PLAIN dictionary values, or nil
	dictN    int
	data     []byte // data page v1 body (levels + values)
	encoding int32
}

// buildParquet writes a one-row-group file with Snappy-compressed v1 pages.
func buildParquet(rows int, cols []testCol) []byte {
	var f bytes.Buffer
	f.WriteString("PAR1")
	type offs struct{ dict, data int64 }
	var at []offs
	page := func(typ int32, body []byte, sub func(w *tw)) {
		comp := snappyLiteral(body)
		var h tw
		h.i32(1, typ)
		h.i32(2, int32(len(body)))
		h.i32(3, int32(len(comp)))
		id := int16(5)
		if typ == 2 {
			id = 7
		}
		h.structField(id, func() { sub(&h) })
		h.stop()
		f.Write(h.Bytes())
		f.Write(comp)
	}
	for _, c := range cols {
		var o offs
		if c.dictPage != nil {
			o.dict = int64(f.Len())
			page(2, c.dictPage, func(w *tw) { w.i32(1, int32(c.dictN)); w.i32(2, 0) })
		}
		o.data = int64(f.Len())
		page(0, c.data, func(w *tw) { w.i32(1, int32(rows)); w.i32(2, c.encoding); w.i32(3, 3); w.i32(4, 3) })
		at = append(at, o)
	}
	var m tw
	m.i32(1, 1)
	m.list(2, ctStruct, len(cols)+1, func(i int) {
		if i == 0 {
			m.str(4, "schema")
			m.i32(5, int32(len(cols)))
		} else {
			c := cols[i-1]
			m.i32(1, c.typ)
			rep := int32(0)
			if c.optional {
				rep = 1
			}
			m.i32(3, rep)
			m.str(4, c.name)
		}
		m.stop()
	})
	m.i64(3, int64(rows))
	m.list(4, ctStruct, 1, func(int) {
		m.list(1, ctStruct, len(cols), func(i int) {
			m.i64(2, at[i].data)
			m.structField(3, func() {
				m.i32(1, cols[i].typ)
				m.i32(4, 1) // snappy
				m.i64(5, int64(rows))
				m.i64(9, at[i].data)
				if at[i].dict > 0 {
					m.i64(11, at[i].dict)
				}
			})
			m.stop()
		})
		m.i64(3, int64(rows))
		m.stop()
	})
	m.stop()
	f.Write(m.Bytes())
	f.Write(binary.LittleEndian.AppendUint32(nil, uint32(m.Len())))
	f.WriteString("PAR1")
	return f.Bytes()
}

func plainStrings(ss ...string) []byte {
	var b []byte
	for _, s := range ss {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}

// xnliParquet: premise dictionary-encoded (optional, def levels all 1),
// hypothesis PLAIN, label INT64 PLAIN, three rows.
func xnliParquet() []byte {
	defs := []byte{2, 0, 0, 0, 3<<1 | 0, 1} // 4-byte length, RLE run of 3 ones
	// dictionary indices 0,1,0: bit width 1, one bit-packed group.
	idx := []byte{1, 1<<1 | 1, 0b010}
	var labels []byte
	for _, v := range []int64{0, 2, 1} {
		labels = binary.LittleEndian.AppendUint64(labels, uint64(v))
	}
	return buildParquet(3, []testCol{
		{name: "premise", typ: pqByteArray, optional: true, dictPage: plainStrings("Er kam.", "Sie ging."), dictN: 2,
			data: append(append([]byte{}, defs...), idx...), encoding: 8},
		{name: "hypothesis", typ: pqByteArray, data: plainStrings("h0", "h1", "h2"), encoding: 0},
		{name: "label", typ: pqInt64, data: labels, encoding: 0},
	})
}

func TestParquetTaskFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "de", "validation.parquet")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, xnliParquet(), 0o644); err != nil {
		t.Fatal(err)
	}
	subs, err := LoadTask("xnli", dir, []string{"de"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []Doc{
		{Text: "Er kam., richtig?", Choices: []string{"Ja, h0", "Auch, h0", "Nein, h0"}, Gold: 0},
		{Text: "Sie ging., richtig?", Choices: []string{"Ja, h1", "Auch, h1", "Nein, h1"}, Gold: 2},
		{Text: "Er kam., richtig?", Choices: []string{"Ja, h2", "Auch, h2", "Nein, h2"}, Gold: 1},
	}
	if len(subs[0].Docs) != 3 {
		t.Fatalf("%d docs", len(subs[0].Docs))
	}
	for i, d := range subs[0].Docs {
		if !sameDoc(d, want[i]) {
			t.Errorf("doc %d = %+v, want %+v", i, d, want[i])
		}
	}
}

func TestParquetNullsAndErrors(t *testing.T) {
	// Optional INT32 with rows [7, null, 9]: def levels bit-packed 1,0,1.
	defs := []byte{2, 0, 0, 0, 1<<1 | 1, 0b101}
	vals := binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 7), 9)
	file := buildParquet(3, []testCol{{name: "n", typ: pqInt32, optional: true, data: append(defs, vals...)}})
	recs, err := parseParquet(file)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, string(r.m["n"]))
	}
	if strings.Join(got, ",") != "7,null,9" {
		t.Fatalf("values %v", got)
	}
	// Every truncation is an error, never a panic.
	for n := 0; n < len(file); n++ {
		if _, err := parseParquet(file[:n]); err == nil {
			t.Fatalf("file cut at %d of %d bytes accepted", n, len(file))
		}
	}
	if _, err := decompress(6, nil, 0); err == nil || !strings.Contains(err.Error(), "zstd") {
		t.Fatalf("zstd: %v", err)
	}
}

func TestSnappyCopies(t *testing.T) {
	// "abcd" literal, then copy-1 of 8 bytes at offset 4, then copy-2 of 2 at offset 1.
	b := []byte{14, 3 << 2, 'a', 'b', 'c', 'd', (8-4)<<2 | 1, 4, (2-1)<<2 | 2, 1, 0}
	got, err := snappyDecode(b)
	if err != nil || string(got) != "abcdabcdabcddd" {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := snappyDecode([]byte{5, 0, 'a', 1<<2 | 1, 9}); err == nil {
		t.Fatal("copy beyond the decoded bytes accepted")
	}
}

func FuzzParquet(f *testing.F) {
	f.Add(xnliParquet())
	f.Add(buildParquet(1, []testCol{{name: "b", typ: pqBoolean, data: []byte{1}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := parseParquet(b)
		if err == nil && len(recs) > len(b)*8 {
			t.Fatalf("%d records from %d bytes", len(recs), len(b))
		}
	})
}
