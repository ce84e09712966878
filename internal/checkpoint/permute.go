package checkpoint

// Hugging Face Llama checkpoints store the rows of Wq and Wk in
// "rotate-half" order: within a head, the first half of the rows are the
// first members of the rotated pairs, the second half the second members.
// GGUF, llama2.c and our forward pass rotate adjacent rows (2i, 2i+1).
// llama.cpp's convert_hf_to_gguf.py maps one to the other with
//
//	w.reshape(n_head, 2, rows/n_head/2, cols).swapaxes(1, 2).reshape(w.shape)
//
// i.e. ours[h*hs + 2i + j] = hf[h*hs + j*hs/2 + i].

// PermuteRows returns HF-ordered rows (heads heads of hs rows, each rowBytes
// long) in adjacent-pair order. It works on raw bytes, so any element type
// whose rows are contiguous (F32, F16, BF16, block-quantized rows) can be
// permuted without conversion.
func PermuteRows(dst, src []byte, heads, hs, rowBytes int) {
	permute(dst, src, heads, hs, rowBytes, false)
}

// UnpermuteRows is the inverse of PermuteRows: adjacent-pair order to HF.
func UnpermuteRows(dst, src []byte, heads, hs, rowBytes int) {
	permute(dst, src, heads, hs, rowBytes, true)
}

func permute(dst, src []byte, heads, hs, rb int, inverse bool) {
	half := hs / 2
	for h := 0; h < heads; h++ {
		for i := 0; i < half; i++ {
			for j := 0; j < 2; j++ {
				ours := (h*hs + 2*i + j) * rb
				hf := (h*hs + j*half + i) * rb
				if inverse {
					copy(dst[hf:hf+rb], src[ours:ours+rb])
				} else {
					copy(dst[ours:ours+rb], src[hf:hf+rb])
				}
			}
		}
	}
}

// PermuteF32 is PermuteRows for float32 rows of cols values.
func PermuteF32(dst, src []float32, heads, hs, cols int) {
	permuteF32(dst, src, heads, hs, cols, false)
}

// UnpermuteF32 is UnpermuteRows for float32 rows of cols values.
func UnpermuteF32(dst, src []float32, heads, hs, cols int) {
	permuteF32(dst, src, heads, hs, cols, true)
}

func permuteF32(dst, src []float32, heads, hs, cols int, inverse bool) {
	half := hs / 2
	for h := 0; h < heads; h++ {
		for i := 0; i < half; i++ {
			for j := 0; j < 2; j++ {
				ours := (h*hs + 2*i + j) * cols
				hf := (h*hs + j*half + i) * cols
				if inverse {
					copy(dst[hf:hf+cols], src[ours:ours+cols])
				} else {
					copy(dst[ours:ours+cols], src[hf:hf+cols])
				}
			}
		}
	}
}
