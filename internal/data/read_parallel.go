package data

import (
	"encoding/json"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Reporter receives every malformed input line; the reader skips the line.
type Reporter func(where string, err error)

// ReadMultiway reads a FLORES-style folder (one file per language, named
// CODE.EXT, line-aligned) in lockstep, holding one line per language in
// memory. langs restricts the languages read (nil means all files).
func ReadMultiway(dir, ext string, langs []string) (iter.Seq2[Parallel, error], []string, error) {
	if ext == "" {
		ext = detectExt(dir)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*."+ext))
	if err != nil {
		return nil, nil, err
	}
	want := map[string]bool{}
	for _, l := range langs {
		want[l] = true
	}
	var codes []string
	for _, f := range files {
		code := strings.TrimSuffix(filepath.Base(f), "."+ext)
		if len(want) == 0 || want[code] {
			codes = append(codes, code)
		}
	}
	sort.Strings(codes)
	if len(codes) == 0 {
		return nil, nil, fmt.Errorf("%s: no *.%s files", dir, ext)
	}
	for l := range want {
		if _, err := os.Stat(filepath.Join(dir, l+"."+ext)); err != nil {
			return nil, nil, fmt.Errorf("%s: language %s: no file %s.%s", dir, l, l, ext)
		}
	}
	seq := func(yield func(Parallel, error) bool) {
		readers := make([]*lineReader, len(codes))
		defer func() {
			for _, r := range readers {
				if r != nil {
					r.Close()
				}
			}
		}()
		for i, c := range codes {
			r, err := openLines(filepath.Join(dir, c+"."+ext))
			if err != nil {
				yield(Parallel{}, err)
				return
			}
			readers[i] = r
		}
		for {
			p := Parallel{Text: make(map[string]string, len(codes))}
			ended := 0
			for i, r := range readers {
				line, ok := r.next()
				if !ok {
					if err := r.err(); err != nil {
						yield(Parallel{}, err)
						return
					}
					ended++
					continue
				}
				p.Text[codes[i]] = line
			}
			if ended == len(readers) {
				return
			}
			if ended > 0 {
				yield(Parallel{}, fmt.Errorf("%s: files are not line-aligned: %d of %d ended at line %d", dir, ended, len(readers), readers[0].num+1))
				return
			}
			p.Origin = fmt.Sprintf("%s/*.%s:%d", dir, ext, readers[0].num)
			if !yield(p, nil) {
				return
			}
		}
	}
	return seq, codes, nil
}

func detectExt(dir string) string {
	for _, ext := range []string{"dev", "devtest", "txt"} {
		if m, _ := filepath.Glob(filepath.Join(dir, "*."+ext)); len(m) > 0 {
			return ext
		}
	}
	return "dev"
}

// ReadTSV reads "source<TAB>target" lines.
func ReadTSV(path, src, tgt string, bad Reporter) iter.Seq2[Parallel, error] {
	return func(yield func(Parallel, error) bool) {
		r, err := openLines(path)
		if err != nil {
			yield(Parallel{}, err)
			return
		}
		defer r.Close()
		for {
			line, ok := r.next()
			if !ok {
				if err := r.err(); err != nil {
					yield(Parallel{}, err)
				}
				return
			}
			a, b, found := strings.Cut(line, "\t")
			if !found || strings.Contains(b, "\t") {
				bad(r.where(), fmt.Errorf("want 2 tab-separated columns, got %d", strings.Count(line, "\t")+1))
				continue
			}
			if !yield(Parallel{Text: map[string]string{src: a, tgt: b}, Origin: r.where()}, nil) {
				return
			}
		}
	}
}

// ReadMoses reads a Moses-style pair of line-aligned files.
func ReadMoses(srcPath, tgtPath, src, tgt string) iter.Seq2[Parallel, error] {
	return func(yield func(Parallel, error) bool) {
		a, err := openLines(srcPath)
		if err != nil {
			yield(Parallel{}, err)
			return
		}
		defer a.Close()
		b, err := openLines(tgtPath)
		if err != nil {
			yield(Parallel{}, err)
			return
		}
		defer b.Close()
		for {
			la, oka := a.next()
			lb, okb := b.next()
			if !oka || !okb {
				for _, r := range []*lineReader{a, b} {
					if err := r.err(); err != nil {
						yield(Parallel{}, err)
						return
					}
				}
				if oka != okb {
					yield(Parallel{}, fmt.Errorf("%s and %s are not line-aligned: one ends at line %d", srcPath, tgtPath, min(a.num, b.num)+1))
				}
				return
			}
			if !yield(Parallel{Text: map[string]string{src: la, tgt: lb}, Origin: a.where()}, nil) {
				return
			}
		}
	}
}

// ReadBitextJSONL reads {"<srcField>": ..., "<tgtField>": ...} lines.
// Languages come from the fields src_lang/tgt_lang when present, else from
// the input's declared languages.
func ReadBitextJSONL(path, src, tgt, srcField, tgtField string, bad Reporter) iter.Seq2[Parallel, error] {
	if srcField == "" {
		srcField = "src"
	}
	if tgtField == "" {
		tgtField = "tgt"
	}
	return func(yield func(Parallel, error) bool) {
		r, err := openLines(path)
		if err != nil {
			yield(Parallel{}, err)
			return
		}
		defer r.Close()
		for {
			line, ok := r.next()
			if !ok {
				if err := r.err(); err != nil {
					yield(Parallel{}, err)
				}
				return
			}
			if strings.TrimSpace(line) == "" {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				bad(r.where(), fmt.Errorf("invalid JSON: %v", err))
				continue
			}
			a, okA := m[srcField].(string)
			b, okB := m[tgtField].(string)
			if !okA || !okB {
				bad(r.where(), fmt.Errorf("want string fields %q and %q", srcField, tgtField))
				continue
			}
			s, t := src, tgt
			if v, ok := m["src_lang"].(string); ok && v != "" {
				s = v
			}
			if v, ok := m["tgt_lang"].(string); ok && v != "" {
				t = v
			}
			if s == "" || t == "" {
				bad(r.where(), fmt.Errorf("no languages: set src/tgt on the input or src_lang/tgt_lang in the line"))
				continue
			}
			if !yield(Parallel{Text: map[string]string{s: a, t: b}, Origin: r.where()}, nil) {
				return
			}
		}
	}
}
