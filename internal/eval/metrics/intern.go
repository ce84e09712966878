package metrics

import (
	"bytes"
	"hash/maphash"
	"math/bits"
)

// idTable maps uint64 keys to dense ids 1, 2, 3, ... within one segment.
// It is open addressing with linear probing, emptied in O(1) between
// segments by bumping a generation stamp, so counting n-grams allocates
// nothing once the table has grown to the largest segment.
//
// N-grams are chained: the id of an n-gram is the id of the key
// (id of its (n-1)-gram prefix)<<32 | last token, and unigrams use prefix 0.
// Two n-grams get the same id exactly when they are equal.
type idTable struct {
	slots []idSlot
	gen   uint32
	shift uint8
	n     uint32
}

// idSlot keeps key, id and stamp together: one cache line per probe.
type idSlot struct {
	key uint64
	id  uint32
	gen uint32
}

// reset empties the table and makes room for at least want keys.
func (t *idTable) reset(want int) {
	t.n = 0
	size := 1 << bits.Len(uint(2*want+16))
	if size > len(t.slots) {
		t.slots = make([]idSlot, size)
		t.shift = uint8(64 - bits.TrailingZeros(uint(size)))
		t.gen = 0
	}
	t.gen++
	if t.gen == 0 { // wrapped: old stamps could look current
		clear(t.slots)
		t.gen = 1
	}
}

// id returns the id of key, assigning the next one if key is new.
func (t *idTable) id(key uint64) uint32 {
	mask := uint64(len(t.slots) - 1)
	i := (key * 0x9E3779B97F4A7C15) >> t.shift
	for {
		s := &t.slots[i]
		if s.gen != t.gen {
			t.n++
			*s = idSlot{key: key, id: t.n, gen: t.gen}
			return t.n
		}
		if s.key == key {
			return s.id
		}
		i = (i + 1) & mask
	}
}

// wordTable interns byte strings (tokens) into dense ids 1, 2, ... within one
// segment, comparing bytes on hash collisions so ids are exact.
type wordTable struct {
	hashes []uint64
	offs   []uint32 // token start in arena
	lens   []uint32
	ids    []uint32
	gens   []uint32
	gen    uint32
	n      uint32
	arena  []byte
	seed   maphash.Seed
}

func (t *wordTable) reset(want int, arena []byte) {
	t.n = 0
	t.arena = arena
	size := 1 << bits.Len(uint(2*want+16))
	if size > len(t.hashes) {
		if len(t.hashes) == 0 {
			t.seed = maphash.MakeSeed()
		}
		t.hashes = make([]uint64, size)
		t.offs = make([]uint32, size)
		t.lens = make([]uint32, size)
		t.ids = make([]uint32, size)
		t.gens = make([]uint32, size)
		t.gen = 0
	}
	t.gen++
	if t.gen == 0 {
		clear(t.gens)
		t.gen = 1
	}
}

// id returns the id of the token arena[start:end].
func (t *wordTable) id(start, end int) uint32 {
	w := t.arena[start:end]
	h := maphash.Bytes(t.seed, w)
	mask := uint64(len(t.hashes) - 1)
	i := h & mask
	for {
		if t.gens[i] != t.gen {
			t.n++
			t.gens[i], t.hashes[i], t.offs[i], t.lens[i], t.ids[i] = t.gen, h, uint32(start), uint32(end-start), t.n
			return t.n
		}
		if t.hashes[i] == h && bytes.Equal(t.arena[t.offs[i]:t.offs[i]+t.lens[i]], w) {
			return t.ids[i]
		}
		i = (i + 1) & mask
	}
}
