package data

import (
	"path/filepath"
	"testing"
)

// The exported wrappers must give what Build uses: a record survives
// MarshalRecord/UnmarshalRecord with the payload its dedup keys and filters
// read, and UnitOrigin names units as ReadUnits does.
func TestTransformsMatchBuild(t *testing.T) {
	dir := t.TempDir()
	tsv := writeFile(t, filepath.Join(dir, "a.tsv"), "The river flooded the old town last week.\tLe fleuve a inondé la vieille ville la semaine dernière.\nno tab here\nShe sells fresh bread every morning.\tElle vend du pain frais chaque matin.\n")
	r, err := LoadRecipe(writeFile(t, filepath.Join(dir, "r.yaml"), "seed: 9\ninputs:\n  - kind: tsv\n    path: "+tsv+"\n    src: eng_Latn\n    tgt: fra_Latn\n"))
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	units, err := ReadUnits(r, 0, func(string, error) { bad++ })
	if err != nil {
		t.Fatal(err)
	}
	gen := NewGenConfig(r)
	dd := NewDedup(true)
	n, recs := 0, 0
	for u, err := range units {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if want := UnitOrigin(0, n); u.Par == nil || u.Par.Origin != want {
			t.Fatalf("unit %d: %+v, want a parallel unit with origin %q", n, u, want)
		}
		keep, drops := Process(r, gen, u, nil)
		if len(drops) != 0 || len(keep) != 2 {
			t.Fatalf("unit %d: kept %d, drops %v; want both directions kept", n, len(keep), drops)
		}
		for i := range keep {
			recs++
			b, err := MarshalRecord(&keep[i])
			if err != nil {
				t.Fatal(err)
			}
			back, err := UnmarshalRecord(b)
			if err != nil {
				t.Fatal(err)
			}
			e1, b1 := dd.DedupKeysOf(&keep[i])
			e2, b2 := dd.DedupKeysOf(&back)
			if e1 != e2 || len(b1) != 8 || len(b2) != 8 || b1[0] != b2[0] || back.payloadSrc != keep[i].payloadSrc || back.payloadSrc == "" {
				t.Fatalf("record %s changed in the round trip: payload %q -> %q", keep[i].ID, keep[i].payloadSrc, back.payloadSrc)
			}
			if r.Filters.Check(&back, nil) != "" {
				t.Fatalf("record %s: filters drop the decoded record", back.ID)
			}
			enc1, _ := EncodeRecord(&keep[i], "messages")
			enc2, _ := EncodeRecord(&back, "messages")
			if string(enc1) != string(enc2) {
				t.Fatalf("encodings differ:\n%s\n%s", enc1, enc2)
			}
		}
	}
	if n != 2 || bad != 1 || recs != 4 {
		t.Fatalf("%d units, %d malformed, %d records; want 2, 1, 4", n, bad, recs)
	}
	if _, err := ReadUnits(r, 1, nil); err == nil {
		t.Fatal("ReadUnits of a missing input: no error")
	}
	if RecordSelectKey(9, "a") == RecordSelectKey(9, "b") || RecordSelectKey(9, "a") != selectKey(9, "a") {
		t.Fatal("RecordSelectKey is not the mixing select key")
	}
}
