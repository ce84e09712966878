package metrics

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"unicode/utf8"
)

// SPM is a SentencePiece unigram model as sacreBLEU's flores101/flores200
// tokenizers use it through sentencepiece's EncodeAsPieces: the model's
// normalizer (precompiled character map, whitespace handling) followed by
// the optimized Viterbi search of sentencepiece's unigram_model.cc, with its
// float32 scores, tie rules, unknown-piece penalty and merging of
// consecutive unknown pieces.
type SPM struct {
	pieces   map[string]int32 // NORMAL, USER_DEFINED and UNUSED pieces
	prefixes map[string]bool  // proper byte prefixes of those pieces
	scores   []float32
	types    []uint8
	texts    []string
	unk      int32
	minScore float32
	maxScore float32
	user     map[string]bool // user-defined symbols, matched before normalization
	userMax  int

	byteFallback   bool
	wsSuffix       bool
	addDummyPrefix bool
	removeExtraWS  bool
	escapeWS       bool
	trie           []uint32 // Darts double array of the precompiled charsmap
	normalized     []byte   // NUL-terminated replacement strings
	maxPieceBytes  int
}

// Piece types of sentencepiece_model.proto.
const (
	spmNormal      = 1
	spmUnknown     = 2
	spmControl     = 3
	spmUserDefined = 4
	spmUnused      = 5
	spmByte        = 6
)

// LoadSPM reads a SentencePiece model file.
func LoadSPM(path string) (*SPM, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := ParseSPM(data)
	if err != nil {
		return nil, fmt.Errorf("sentencepiece model %s: %w", path, err)
	}
	return m, nil
}

// pb is a minimal protobuf wire-format reader.
type pb struct {
	b   []byte
	pos int
}

func (r *pb) varint() (uint64, error) {
	v, n := binary.Uvarint(r.b[r.pos:])
	if n <= 0 {
		return 0, fmt.Errorf("bad varint at offset %d", r.pos)
	}
	r.pos += n
	return v, nil
}

// next returns the next field: number, wire type, varint/fixed value or
// length-delimited bytes.
func (r *pb) next() (int, int, uint64, []byte, error) {
	start := r.pos
	key, err := r.varint()
	if err != nil {
		return 0, 0, 0, nil, err
	}
	num, wt := int(key>>3), int(key&7)
	switch wt {
	case 0:
		v, err := r.varint()
		return num, wt, v, nil, err
	case 1:
		if r.pos+8 > len(r.b) {
			return 0, 0, 0, nil, fmt.Errorf("field %d at offset %d: truncated", num, start)
		}
		v := binary.LittleEndian.Uint64(r.b[r.pos:])
		r.pos += 8
		return num, wt, v, nil, nil
	case 5:
		if r.pos+4 > len(r.b) {
			return 0, 0, 0, nil, fmt.Errorf("field %d at offset %d: truncated", num, start)
		}
		v := binary.LittleEndian.Uint32(r.b[r.pos:])
		r.pos += 4
		return num, wt, uint64(v), nil, nil
	case 2:
		l, err := r.varint()
		if err != nil {
			return 0, 0, 0, nil, err
		}
		if l > uint64(len(r.b)-r.pos) {
			return 0, 0, 0, nil, fmt.Errorf("field %d at offset %d: length %d past the end", num, start, l)
		}
		d := r.b[r.pos : r.pos+int(l)]
		r.pos += int(l)
		return num, wt, 0, d, nil
	}
	return 0, 0, 0, nil, fmt.Errorf("field %d at offset %d: unsupported wire type %d", num, start, wt)
}

// ParseSPM decodes a SentencePiece ModelProto.
func ParseSPM(data []byte) (*SPM, error) {
	m := &SPM{
		pieces: map[string]int32{}, prefixes: map[string]bool{}, user: map[string]bool{},
		unk: -1, addDummyPrefix: true, removeExtraWS: true, escapeWS: true,
	}
	modelType := uint64(1)
	r := pb{b: data}
	for r.pos < len(r.b) {
		num, wt, v, d, err := r.next()
		if err != nil {
			return nil, err
		}
		switch {
		case num == 1 && wt == 2:
			if err := m.addPiece(d); err != nil {
				return nil, fmt.Errorf("piece %d: %w", len(m.texts), err)
			}
		case num == 2 && wt == 2:
			tr := pb{b: d}
			for tr.pos < len(tr.b) {
				n, w, v, _, err := tr.next()
				if err != nil {
					return nil, fmt.Errorf("trainer_spec: %w", err)
				}
				switch {
				case n == 3 && w == 0:
					modelType = v
				case n == 24 && w == 0:
					m.wsSuffix = v != 0
				case n == 35 && w == 0:
					m.byteFallback = v != 0
				}
			}
		case num == 3 && wt == 2:
			if err := m.parseNormalizer(d); err != nil {
				return nil, fmt.Errorf("normalizer_spec: %w", err)
			}
		}
		_ = v
	}
	if modelType != 1 {
		return nil, fmt.Errorf("model type %d: only unigram (1) models are supported", modelType)
	}
	if m.unk < 0 {
		return nil, errors.New("no unknown piece")
	}
	m.minScore, m.maxScore = math.MaxFloat32, math.SmallestNonzeroFloat32
	for i, t := range m.types {
		if t == spmNormal {
			m.minScore = min(m.minScore, m.scores[i])
			m.maxScore = max(m.maxScore, m.scores[i])
		}
	}
	return m, nil
}

func (m *SPM) addPiece(d []byte) error {
	var text string
	var score float32
	typ := uint64(spmNormal)
	r := pb{b: d}
	for r.pos < len(r.b) {
		num, wt, v, b, err := r.next()
		if err != nil {
			return err
		}
		switch {
		case num == 1 && wt == 2:
			text = string(b)
		case num == 2 && wt == 5:
			score = math.Float32frombits(uint32(v))
		case num == 3 && wt == 0:
			typ = v
		}
	}
	if text == "" {
		return errors.New("empty piece")
	}
	if typ < spmNormal || typ > spmByte {
		return fmt.Errorf("%q: unknown type %d", text, typ)
	}
	id := int32(len(m.texts))
	m.texts = append(m.texts, text)
	m.scores = append(m.scores, score)
	m.types = append(m.types, uint8(typ))
	switch typ {
	case spmNormal, spmUserDefined, spmUnused:
		if _, dup := m.pieces[text]; dup {
			return fmt.Errorf("%q is defined twice", text)
		}
		m.pieces[text] = id
		for k := 1; k < len(text); k++ {
			m.prefixes[text[:k]] = true
		}
		m.maxPieceBytes = max(m.maxPieceBytes, len(text))
		if typ == spmUserDefined {
			m.user[text] = true
			m.userMax = max(m.userMax, len(text))
		}
	case spmUnknown:
		if m.unk >= 0 {
			return errors.New("second unknown piece")
		}
		m.unk = id
	}
	return nil
}

func (m *SPM) parseNormalizer(d []byte) error {
	r := pb{b: d}
	for r.pos < len(r.b) {
		num, wt, v, b, err := r.next()
		if err != nil {
			return err
		}
		switch {
		case num == 2 && wt == 2 && len(b) > 0:
			if len(b) <= 4 {
				return errors.New("precompiled charsmap is broken")
			}
			n := binary.LittleEndian.Uint32(b)
			if uint64(n) >= uint64(len(b)) || n%4 != 0 {
				return fmt.Errorf("precompiled charsmap: trie size %d of %d bytes", n, len(b))
			}
			m.trie = make([]uint32, n/4)
			for i := range m.trie {
				m.trie[i] = binary.LittleEndian.Uint32(b[4+4*i:])
			}
			m.normalized = append([]byte(nil), b[4+n:]...)
		case num == 3 && wt == 0:
			m.addDummyPrefix = v != 0
		case num == 4 && wt == 0:
			m.removeExtraWS = v != 0
		case num == 5 && wt == 0:
			m.escapeWS = v != 0
		}
	}
	return nil
}

// charsmapPrefix is Darts-clone's commonPrefixSearch over the precompiled
// charsmap, keeping the longest match: it returns the replacement string
// and the number of input bytes it replaces (0 if none).
func (m *SPM) charsmapPrefix(s []byte) ([]byte, int) {
	if len(m.trie) == 0 {
		return nil, 0
	}
	offset := func(u uint32) uint32 { return (u >> 10) << ((u & (1 << 9)) >> 6) }
	pos := offset(m.trie[0])
	bestLen, bestVal := 0, uint32(0)
	for i, c := range s {
		pos ^= uint32(c)
		if int(pos) >= len(m.trie) {
			break
		}
		u := m.trie[pos]
		if u&((1<<31)|0xff) != uint32(c) {
			break
		}
		pos ^= offset(u)
		if int(pos) >= len(m.trie) {
			break
		}
		if (u>>8)&1 == 1 { // has a leaf: its value is the replacement offset
			bestLen, bestVal = i+1, m.trie[pos]&((1<<31)-1)
		}
	}
	if bestLen == 0 || int(bestVal) >= len(m.normalized) {
		return nil, 0
	}
	rep := m.normalized[bestVal:]
	if k := indexByte(rep, 0); k >= 0 {
		rep = rep[:k]
	}
	return rep, bestLen
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// normalizePrefix is sentencepiece's Normalizer::NormalizePrefix: a
// user-defined symbol verbatim, else the longest charsmap rule, else one
// UTF-8 character (U+FFFD for an invalid byte).
func (m *SPM) normalizePrefix(s []byte) ([]byte, int) {
	if m.userMax > 0 {
		for l := min(m.userMax, len(s)); l > 0; l-- {
			if m.user[string(s[:l])] {
				return s[:l], l
			}
		}
	}
	if rep, n := m.charsmapPrefix(s); n > 0 {
		return rep, n
	}
	r, n := utf8.DecodeRune(s)
	if r == utf8.RuneError && n <= 1 {
		return []byte("\uFFFD"), 1
	}
	return s[:n], n
}

const spmSpace = "\u2581"

// Normalize is sentencepiece's Normalizer::Normalize.
func (m *SPM) Normalize(dst []byte, in string) []byte {
	s := []byte(in)
	if m.removeExtraWS {
		for len(s) > 0 {
			p, n := m.normalizePrefix(s)
			if string(p) != " " {
				break
			}
			s = s[n:]
		}
	}
	if len(s) == 0 {
		return dst
	}
	start := len(dst)
	ws := " "
	if m.escapeWS {
		ws = spmSpace
	}
	if !m.wsSuffix && m.addDummyPrefix {
		dst = append(dst, ws...)
	}
	prevSpace := m.removeExtraWS
	for len(s) > 0 {
		p, n := m.normalizePrefix(s)
		for prevSpace && len(p) > 0 && p[0] == ' ' {
			p = p[1:]
		}
		if len(p) > 0 {
			for _, c := range p {
				if m.escapeWS && c == ' ' {
					dst = append(dst, spmSpace...)
				} else {
					dst = append(dst, c)
				}
			}
			prevSpace = p[len(p)-1] == ' '
		}
		s = s[n:]
		if !m.removeExtraWS {
			prevSpace = false
		}
	}
	if m.removeExtraWS {
		for len(dst)-start >= len(ws) && string(dst[len(dst)-len(ws):]) == ws {
			dst = dst[:len(dst)-len(ws)]
		}
	}
	if m.wsSuffix && m.addDummyPrefix {
		dst = append(dst, ws...)
	}
	return dst
}

// EncodeAsPieces is SentencePieceProcessor::EncodeAsPieces for a unigram
// model.
func (m *SPM) EncodeAsPieces(text string) []string {
	norm := m.Normalize(nil, text)
	var out []string
	m.encode(norm, func(piece []byte, unk, prevUnk bool) {
		switch {
		case unk && m.byteFallback:
			for _, c := range piece {
				out = append(out, fmt.Sprintf("<0x%02X>", c))
			}
		case unk && prevUnk:
			out[len(out)-1] += string(piece)
		default:
			out = append(out, string(piece))
		}
	})
	return out
}

// encode runs the optimized unigram Viterbi search over the normalized
// text and calls emit for each piece of the best path, in order.
func (m *SPM) encode(norm []byte, emit func(piece []byte, unk, prevUnk bool)) {
	size := len(norm)
	if size == 0 {
		return
	}
	type node struct {
		id       int32
		score    float32
		startsAt int
	}
	best := make([]node, size+1)
	for i := range best {
		best[i] = node{id: -1, startsAt: -1}
	}
	unkScore := m.minScore - 10 // kUnkPenalty
	for start := 0; start < size; {
		here := best[start].score
		mblen := min(utf8OneCharLen(norm[start]), size-start)
		single := false
		for end := start + 1; end <= size && end-start <= m.maxPieceBytes; end++ {
			key := norm[start:end]
			id, ok := m.pieces[string(key)]
			if ok && m.types[id] != spmUnused {
				length := end - start
				// sentencepiece's score is a double (the user-defined branch
				// of its conditional is one), so the candidate is compared in
				// double precision and stored as a float.
				score := float64(m.scores[id])
				if m.types[id] == spmUserDefined {
					score = float64(float32(length)*m.maxScore) - 0.1
				}
				cand := score + float64(here)
				if t := &best[end]; t.startsAt == -1 || cand > float64(t.score) {
					*t = node{id: id, score: float32(cand), startsAt: start}
				}
				if length == mblen {
					single = true
				}
			}
			if !m.prefixes[string(key)] {
				break
			}
		}
		if !single {
			cand := unkScore + here
			if t := &best[start+mblen]; t.startsAt == -1 || cand > t.score {
				*t = node{id: m.unk, score: cand, startsAt: start}
			}
		}
		start += mblen
	}
	var path []int
	for end := size; end > 0; end = best[end].startsAt {
		path = append(path, end)
	}
	prevUnk := false
	for k := len(path) - 1; k >= 0; k-- {
		end := path[k]
		n := best[end]
		unk := n.id == m.unk
		emit(norm[n.startsAt:end], unk, prevUnk)
		prevUnk = unk
	}
}

// utf8OneCharLen is sentencepiece's OneCharLen: the sequence length its
// lead byte announces.
func utf8OneCharLen(c byte) int {
	return [16]int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4}[c>>4]
}

// tokSPM is sacreBLEU's TokenizerSPM: " ".join(EncodeAsPieces(line)).
type tokSPM struct {
	model *SPM
	sig   string
}

func (t *tokSPM) Signature() string { return t.sig }

func (t *tokSPM) Append(dst []byte, line string) []byte {
	for i, p := range t.model.EncodeAsPieces(line) {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = append(dst, p...)
	}
	return dst
}

// spmModelFiles are the files sacreBLEU downloads into $SACREBLEU/models
// (default ~/.sacrebleu/models): the base names of its URLs.
var spmModelFiles = map[string]string{
	"flores101": "sacrebleu_tokenizer_spm.model",
	"flores200": "flores200sacrebleuspm",
}

func defaultSPMPath(sig string) string {
	dir := os.Getenv("SACREBLEU")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "."
		}
		dir = filepath.Join(home, ".sacrebleu")
	}
	return filepath.Join(dir, "models", spmModelFiles[sig])
}
