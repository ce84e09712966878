package eval

import (
	"slices"
	"testing"
)

// Values printed by CPython 3.11.2:
//
//	r = random.Random(1234); [r.getrandbits(32) for _ in range(3)]
//	r = random.Random(1234); r.sample(range(100),5), r.sample(range(10),3),
//	    r.sample(range(1000),30), r.sample(range(7),7)
//	random.Random(42).sample(range(5),2)
func TestPyRandomMatchesCPython(t *testing.T) {
	r := NewPyRandom(1234)
	for i, want := range []uint32{4150886329, 3342196574, 1892932127} {
		if got := r.Uint32(); got != want {
			t.Fatalf("getrandbits(32) #%d = %d, CPython %d", i, got, want)
		}
	}
	r = NewPyRandom(1234)
	cases := []struct {
		n, k int
		want []int
	}{
		{100, 5, []int{99, 56, 14, 0, 11}},
		{10, 3, []int{9, 0, 1}},
		{1000, 30, []int{100, 784, 363, 242, 17, 31, 807, 16, 354, 663, 638, 495, 630, 474, 152, 93, 187, 730, 117, 865, 14, 515, 498, 901, 988, 255, 66, 683, 554, 934}},
		{7, 7, []int{3, 0, 4, 5, 2, 6, 1}},
	}
	for _, c := range cases {
		if got := r.Sample(c.n, c.k); !slices.Equal(got, c.want) {
			t.Errorf("sample(range(%d), %d) = %v, CPython %v", c.n, c.k, got, c.want)
		}
	}
	if got := NewPyRandom(42).Sample(5, 2); !slices.Equal(got, []int{0, 4}) {
		t.Errorf("Random(42).sample(range(5), 2) = %v, CPython [0 4]", got)
	}
}
