package llama_test

import (
	"testing"

	"github.com/bayling-go/bayling/internal/sample"
)

// A copied state continues exactly like the original, and the copy does
// not share its cache with the source.
func TestStateCopyFrom(t *testing.T) {
	m := loadStories(t)
	a, _ := m.NewState(64)
	b, _ := m.NewState(64)
	if _, err := b.Forward([]int{1, 300, 301, 302, 303, 304, 305}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Forward([]int{1, 403, 407, 261, 378}); err != nil {
		t.Fatal(err)
	}
	if err := b.CopyFrom(a); err != nil {
		t.Fatal(err)
	}
	if b.Pos() != a.Pos() {
		t.Fatalf("copy at %d, source at %d", b.Pos(), a.Pos())
	}
	for range 10 {
		na, nb := sample.Argmax(a.Logits()), sample.Argmax(b.Logits())
		if na != nb {
			t.Fatalf("copy diverged: %d vs %d", nb, na)
		}
		la, _ := a.Forward([]int{na})
		lb, _ := b.Forward([]int{nb})
		for i := range la {
			if la[i] != lb[i] {
				t.Fatalf("logit %d: %v vs %v", i, lb[i], la[i])
			}
		}
	}
	// Advancing b with another token must not change a's next logits.
	want := append([]float32(nil), a.Logits()...)
	if _, err := b.Forward([]int{5}); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if a.Logits()[i] != want[i] {
			t.Fatal("source state changed by its copy")
		}
	}
	small, _ := m.NewState(4)
	if err := small.CopyFrom(a); err == nil {
		t.Fatal("copy into a too-small state succeeded")
	}
}
