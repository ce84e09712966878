package tokenizer

import "unicode/utf8"

// replaceMode is how invalid UTF-8 in decoded bytes becomes U+FFFD.
type replaceMode uint8

const (
	// replacePerByte: one U+FFFD per invalid byte, like Go's utf8.DecodeRune
	// and SentencePiece's DecodeIds.
	replacePerByte replaceMode = iota
	// replaceMaximal: one U+FFFD per maximal subpart of an ill-formed
	// sequence (Unicode §3.9), like Python's bytes.decode(errors="replace")
	// used by tiktoken and Rust's from_utf8_lossy used by HF tokenizers.
	replaceMaximal
)

// decodeState is the running state of one decoded sequence.
type decodeState struct {
	out     []byte // validated UTF-8 ready to hand out
	pending []byte // raw bytes that may still be an incomplete character
	atStart bool   // no visible piece yet (SentencePiece strips one leading space)
	prev    int    // previous id, -1 at the start
	mode    replaceMode
}

// emit appends raw bytes; they are validated by drain.
func (st *decodeState) emit(b []byte)       { st.pending = append(st.pending, b...) }
func (st *decodeState) emitString(s string) { st.pending = append(st.pending, s...) }

const replacementChar = "\uFFFD"

// drain moves every complete character from pending to out. Invalid bytes
// become U+FFFD. An incomplete sequence at the end stays pending unless final.
func (st *decodeState) drain(final bool) {
	p := st.pending
	i := 0
	for i < len(p) {
		c := p[i]
		if c < utf8.RuneSelf {
			st.out = append(st.out, c)
			i++
			continue
		}
		n, complete, valid := utf8Prefix(p[i:])
		if complete {
			st.out = append(st.out, p[i:i+n]...)
			i += n
			continue
		}
		if valid && !final {
			break // may complete with the next token
		}
		st.out = append(st.out, replacementChar...)
		if st.mode == replaceMaximal && n > 0 {
			i += n
		} else {
			i++
		}
	}
	st.pending = append(st.pending[:0], p[i:]...)
}

// utf8Prefix inspects the sequence starting at p[0] (p[0] >= 0x80). It
// returns the number of bytes that form a well-formed prefix (>= 1 only when
// the lead byte is valid), whether they form a complete character, and
// whether p ended before the sequence could be judged (valid incomplete).
func utf8Prefix(p []byte) (n int, complete, validIncomplete bool) {
	c := p[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 2
	case c == 0xE0:
		need, lo = 3, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		need = 3
	case c == 0xED:
		need, hi = 3, 0x9F
	case c == 0xF0:
		need, lo = 4, 0x90
	case c >= 0xF1 && c <= 0xF3:
		need = 4
	case c == 0xF4:
		need, hi = 4, 0x8F
	default:
		return 1, false, false
	}
	k := 1
	for k < need {
		if k >= len(p) {
			return k, false, true
		}
		b := p[k]
		if k == 1 {
			if b < lo || b > hi {
				return k, false, false
			}
		} else if b < 0x80 || b > 0xBF {
			return k, false, false
		}
		k++
	}
	return need, true, false
}

// StreamDecoder turns ids into text one at a time for streaming output. It
// never returns a broken UTF-8 sequence, and the concatenation of everything
// it returns (including Flush) equals Decode of the same ids.
type StreamDecoder struct {
	sd stepDecoder
	st decodeState
}

// NewStreamDecoder starts a decoder at the beginning of a sequence.
func NewStreamDecoder(t Tokenizer) *StreamDecoder {
	sd, ok := t.(stepDecoder)
	if !ok {
		sd = genericStep{t}
	}
	return &StreamDecoder{sd: sd, st: decodeState{atStart: true, prev: -1, mode: sd.replaceMode()}}
}

// Add decodes one more id and returns the text that is now complete.
func (d *StreamDecoder) Add(id int) string {
	d.sd.decodeStep(&d.st, id)
	d.st.prev = id
	d.st.drain(false)
	return d.take()
}

// Flush returns what is still held back, with incomplete characters
// replaced by U+FFFD, and resets the decoder to the start of a sequence.
func (d *StreamDecoder) Flush() string {
	d.st.drain(true)
	s := d.take()
	d.st.atStart, d.st.prev = true, -1
	return s
}

func (d *StreamDecoder) take() string {
	if len(d.st.out) == 0 {
		return ""
	}
	s := string(d.st.out)
	d.st.out = d.st.out[:0]
	return s
}

// genericStep adapts a foreign Tokenizer by decoding one id at a time.
type genericStep struct{ t Tokenizer }

func (g genericStep) decodeStep(st *decodeState, id int) { st.emitString(g.t.Decode([]int{id})) }
func (g genericStep) replaceMode() replaceMode           { return replacePerByte }
