package safetensors

import (
	"io"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/bayling-go/bayling/internal/tensor"
)

// An independent reader: Python's json + numpy interpret a file we wrote the
// way the format specifies (little-endian, row-major, offsets after the header).
const numpyReader = `
import json, struct, sys
import numpy as np
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8+n])
meta = h.pop('__metadata__', {})
dt = {'F32': '<f4', 'F16': '<f2', 'F64': '<f8', 'I64': '<i8', 'I32': '<i4', 'I16': '<i2', 'I8': 'i1'}
for name, info in sorted(h.items(), key=lambda kv: kv[1]['data_offsets']):
    s, e = info['data_offsets']
    if info['dtype'] == 'BF16':
        a = (np.frombuffer(b[8+n+s:8+n+e], '<u2').astype('<u4') << 16).view('<f4')
    else:
        a = np.frombuffer(b[8+n+s:8+n+e], dt[info['dtype']])
    a = a.reshape(info['shape'])
    print(name, a.shape, ' '.join(repr(float(x)) for x in a.ravel()))
print('meta', json.dumps(meta, sort_keys=True))
`

func TestNumpyReadsOurFile(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import numpy").Run(); err != nil {
		t.Skip("needs /usr/bin/python3 with numpy")
	}
	p := filepath.Join(t.TempDir(), "x.safetensors")
	entries := []Entry{{"w", tensor.F32, []int{2, 2}}, {"h", tensor.F16, []int{3}}, {"b", tensor.BF16, []int{1, 2}}, {"i", tensor.I64, []int{1}}}
	vals := [][]float32{{1.5, -2, 0.25, 1e10}, {1, -0.5, 65504}, {3, -1.25}, nil}
	SortEntries(entries) // reference order: I64, F32, BF16, F16
	err := WriteFile(p, map[string]string{"format": "pt"}, entries, func(i int, out io.Writer) error {
		e := entries[i]
		if e.Type == tensor.I64 {
			_, err := out.Write([]byte{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
			return err
		}
		var v []float32
		switch e.Name {
		case "w":
			v = vals[0]
		case "h":
			v = vals[1]
		case "b":
			v = vals[2]
		}
		n, _ := e.Type.RowBytes(len(v))
		buf := make([]byte, n)
		if err := tensor.Quantize(buf, v, e.Type); err != nil {
			return err
		}
		_, err := out.Write(buf)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", numpyReader, p).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy reader: %v\n%s", err, out)
	}
	want := `i (1,) -2.0
w (2, 2) 1.5 -2.0 0.25 10000000000.0
b (1, 2) 3.0 -1.25
h (3,) 1.0 -0.5 65504.0
meta {"format": "pt"}
`
	if string(out) != want {
		t.Errorf("numpy read\n%s\nwant\n%s", out, want)
	}
}
