package pyfmt

import (
	"strings"
	"testing"
)

// Expected strings are what Python 3 prints: repr(x) and json.dumps(s).
func TestFloat(t *testing.T) {
	for f, want := range map[float64]string{
		0: "0.0", 1: "1.0", -2.5: "-2.5", 0.1: "0.1", 1e-4: "0.0001", 1e-5: "1e-05",
		1.5e-7: "1.5e-07", 1e15: "1000000000000000.0", 1e16: "1e+16", 123456789.125: "123456789.125",
		1.0 / 3: "0.3333333333333333", 2.5e300: "2.5e+300",
	} {
		if got := Float(f); got != want {
			t.Errorf("Float(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestJSONString(t *testing.T) {
	for _, c := range []struct {
		in          string
		ascii, want string
	}{
		{"a\"b\\c\n\t\x01", `"a\"b\\c\n\t\u0001"`, `"a\"b\\c\n\t\u0001"`},
		{"é中😀~\x7f", `"\u00e9\u4e2d\ud83d\ude00~\u007f"`, "\"é中😀~\x7f\""},
	} {
		var a, u strings.Builder
		JSONString(&a, c.in, true)
		JSONString(&u, c.in, false)
		if a.String() != c.ascii || u.String() != c.want {
			t.Errorf("%q: ascii %s (want %s), utf-8 %s (want %s)", c.in, a.String(), c.ascii, u.String(), c.want)
		}
	}
}
