package tokenizer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// SentencePiece ModelProto field numbers (sentencepiece_model.proto).
const (
	pbModelPieces     = 1
	pbModelTrainer    = 2
	pbModelNormalizer = 3

	pbPiecePiece = 1
	pbPieceScore = 2
	pbPieceType  = 3

	pbTrainerModelType    = 3
	pbTrainerByteFallback = 35
	pbTrainerUnkID        = 40
	pbTrainerBosID        = 41
	pbTrainerEosID        = 42

	pbNormName          = 1
	pbNormCharsmap      = 2
	pbNormDummyPrefix   = 3
	pbNormRemoveExtraWS = 4
	pbNormEscapeWS      = 5
	spmModelTypeBPE     = 2
	spmModelTypeUnigram = 1
	maxSPMPieces        = 1 << 24
)

// pbReader walks protobuf wire format.
type pbReader struct {
	b   []byte
	off int // absolute offset of b[0] in the file, for errors
	pos int
}

func (r *pbReader) done() bool { return r.pos >= len(r.b) }

func (r *pbReader) varint() (uint64, error) {
	v, n := binary.Uvarint(r.b[r.pos:])
	if n <= 0 {
		return 0, fmt.Errorf("offset %d: bad varint", r.off+r.pos)
	}
	r.pos += n
	return v, nil
}

// field reads one key and its payload. For wire type 2 data is the payload,
// for varint/fixed types v is the value.
func (r *pbReader) field() (num int, wt int, v uint64, data []byte, dataOff int, err error) {
	key, err := r.varint()
	if err != nil {
		return 0, 0, 0, nil, 0, err
	}
	num, wt = int(key>>3), int(key&7)
	if num == 0 {
		return 0, 0, 0, nil, 0, fmt.Errorf("offset %d: field number 0", r.off+r.pos)
	}
	switch wt {
	case 0:
		v, err = r.varint()
	case 1:
		if len(r.b)-r.pos < 8 {
			return 0, 0, 0, nil, 0, fmt.Errorf("offset %d: truncated fixed64", r.off+r.pos)
		}
		v = binary.LittleEndian.Uint64(r.b[r.pos:])
		r.pos += 8
	case 5:
		if len(r.b)-r.pos < 4 {
			return 0, 0, 0, nil, 0, fmt.Errorf("offset %d: truncated fixed32", r.off+r.pos)
		}
		v = uint64(binary.LittleEndian.Uint32(r.b[r.pos:]))
		r.pos += 4
	case 2:
		var n uint64
		if n, err = r.varint(); err != nil {
			break
		}
		if n > uint64(len(r.b)-r.pos) {
			return 0, 0, 0, nil, 0, fmt.Errorf("offset %d: length %d exceeds the %d bytes left", r.off+r.pos, n, len(r.b)-r.pos)
		}
		dataOff = r.off + r.pos
		data = r.b[r.pos : r.pos+int(n)]
		r.pos += int(n)
	default:
		return 0, 0, 0, nil, 0, fmt.Errorf("offset %d: unsupported wire type %d", r.off+r.pos, wt)
	}
	return num, wt, v, data, dataOff, err
}

// spmModel is the subset of ModelProto a tokenizer needs.
type spmModel struct {
	pieces         []string
	scores         []float32
	types          []TokenType
	modelType      int
	byteFallback   bool
	unk, bos, eos  int
	addDummyPrefix bool
	escapeWS       bool
	removeExtraWS  bool
	normName       string
	charsmap       bool
}

// parseSPMModel decodes a SentencePiece ModelProto.
func parseSPMModel(b []byte) (*spmModel, error) {
	m := &spmModel{modelType: spmModelTypeUnigram, unk: 0, bos: 1, eos: 2, addDummyPrefix: true, escapeWS: true, removeExtraWS: true}
	r := pbReader{b: b}
	for !r.done() {
		num, wt, _, data, off, err := r.field()
		if err != nil {
			return nil, err
		}
		switch {
		case num == pbModelPieces && wt == 2:
			if len(m.pieces) >= maxSPMPieces {
				return nil, fmt.Errorf("offset %d: more than %d pieces", off, maxSPMPieces)
			}
			if err := m.parsePiece(data, off); err != nil {
				return nil, err
			}
		case num == pbModelTrainer && wt == 2:
			if err := m.parseTrainer(data, off); err != nil {
				return nil, err
			}
		case num == pbModelNormalizer && wt == 2:
			if err := m.parseNormalizer(data, off); err != nil {
				return nil, err
			}
		}
	}
	if len(m.pieces) == 0 {
		return nil, errors.New("no pieces")
	}
	return m, nil
}

func (m *spmModel) parsePiece(b []byte, off int) error {
	r := pbReader{b: b, off: off}
	piece, score, typ, sawPiece := "", float32(0), TypeNormal, false
	for !r.done() {
		num, wt, v, data, doff, err := r.field()
		if err != nil {
			return fmt.Errorf("piece %d: %w", len(m.pieces), err)
		}
		switch {
		case num == pbPiecePiece && wt == 2:
			if !utf8.Valid(data) {
				return fmt.Errorf("piece %d at offset %d: not UTF-8", len(m.pieces), doff)
			}
			piece, sawPiece = string(data), true
		case num == pbPieceScore && wt == 5:
			score = math.Float32frombits(uint32(v))
		case num == pbPieceType && wt == 0:
			if v < 1 || v > 6 {
				return fmt.Errorf("piece %d at offset %d: unknown type %d", len(m.pieces), off, v)
			}
			typ = TokenType(v)
		}
	}
	if !sawPiece {
		return fmt.Errorf("piece %d at offset %d: no piece text", len(m.pieces), off)
	}
	m.pieces = append(m.pieces, piece)
	m.scores = append(m.scores, score)
	m.types = append(m.types, typ)
	return nil
}

func (m *spmModel) parseTrainer(b []byte, off int) error {
	r := pbReader{b: b, off: off}
	for !r.done() {
		num, wt, v, _, _, err := r.field()
		if err != nil {
			return fmt.Errorf("trainer_spec: %w", err)
		}
		if wt != 0 {
			continue
		}
		switch num {
		case pbTrainerModelType:
			m.modelType = int(v)
		case pbTrainerByteFallback:
			m.byteFallback = v != 0
		case pbTrainerUnkID:
			m.unk = int(int32(v))
		case pbTrainerBosID:
			m.bos = int(int32(v))
		case pbTrainerEosID:
			m.eos = int(int32(v))
		}
	}
	return nil
}

func (m *spmModel) parseNormalizer(b []byte, off int) error {
	r := pbReader{b: b, off: off}
	for !r.done() {
		num, wt, v, data, _, err := r.field()
		if err != nil {
			return fmt.Errorf("normalizer_spec: %w", err)
		}
		switch {
		case num == pbNormName && wt == 2:
			m.normName = string(data)
		case num == pbNormCharsmap && wt == 2:
			m.charsmap = len(data) > 0
		case num == pbNormDummyPrefix && wt == 0:
			m.addDummyPrefix = v != 0
		case num == pbNormRemoveExtraWS && wt == 0:
			m.removeExtraWS = v != 0
		case num == pbNormEscapeWS && wt == 0:
			m.escapeWS = v != 0
		}
	}
	return nil
}

// spmFromModel checks that the model is one we encode exactly and builds it.
func spmFromModel(m *spmModel) (*SPM, error) {
	if m.modelType != spmModelTypeBPE {
		return nil, fmt.Errorf("model type %d: only BPE (2) SentencePiece models are supported", m.modelType)
	}
	// Llama-style models use the identity normalizer; anything else
	// (nmt_nfkc charsmaps, whitespace collapsing) would change the ids.
	if m.charsmap || !m.escapeWS {
		return nil, fmt.Errorf("normalizer %q (charsmap %v, escape_whitespaces %v): only the identity normalizer with escaped whitespace is supported",
			m.normName, m.charsmap, m.escapeWS)
	}
	n := len(m.pieces)
	for _, id := range []int{m.bos, m.eos, m.unk} {
		if id >= n {
			return nil, fmt.Errorf("special id %d outside the %d pieces", id, n)
		}
	}
	t := newSPM(m.pieces, m.types, m.scores, m.bos, m.eos, m.unk, m.addDummyPrefix, m.byteFallback)
	t.removeExtraWS = m.removeExtraWS
	return t, nil
}

// LoadSPMBytes builds a tokenizer from the bytes of a SentencePiece
// tokenizer.model.
func LoadSPMBytes(b []byte) (*SPM, error) {
	m, err := parseSPMModel(b)
	if err != nil {
		return nil, err
	}
	return spmFromModel(m)
}
