//go:build goexperiment.simd && amd64

package kernels

// Implemented in attn_amd64.s.
//
//go:noescape
func attnScores128F16(scores, q *float32, k *uint16, n, stride int, scale float32)

//go:noescape
func attnScores128F32(scores, q, k *float32, n, stride int, scale float32)

//go:noescape
func attnValues128F16(out, p *float32, v *uint16, n, stride int)

//go:noescape
func attnValues128F32(out, p, v *float32, n, stride int)

// attnTile is how many cache positions each step covers: a tile's rows stay
// in L1/L2 while every query head of the GQA group passes over them (the
// rows of one KV head are a power-of-two stride apart, which would otherwise
// alias onto few cache sets and thrash).
const attnTile = 64

// attnGroup128 computes the query heads [h0,h0+group) that share the KV head
// at element offset off, head size 128, cache rows stride elements apart.
func attnGroup128(out, q, scores []float32, k, v KV, h0, group, off, stride, nPos int, scale float32) {
	const d = 128
	if nPos == 0 {
		clear(out[h0*d : (h0+group)*d])
		return
	}
	last := (nPos-1)*stride + off + d // bounds of the last row the kernels read
	_, _ = q[(h0+group)*d-1], out[(h0+group)*d-1]
	_ = scores[(h0+group)*nPos-1]
	if k.F16 != nil {
		_ = k.F16[last-1]
	} else {
		_ = k.F32[last-1]
	}
	if v.F16 != nil {
		_ = v.F16[last-1]
	} else {
		_ = v.F32[last-1]
	}
	for t0 := 0; t0 < nPos; t0 += attnTile {
		n, o := min(attnTile, nPos-t0), t0*stride+off
		for h := h0; h < h0+group; h++ {
			if k.F16 != nil {
				attnScores128F16(&scores[h*nPos+t0], &q[h*d], &k.F16[o], n, stride, scale)
			} else {
				attnScores128F32(&scores[h*nPos+t0], &q[h*d], &k.F32[o], n, stride, scale)
			}
		}
	}
	for h := h0; h < h0+group; h++ {
		softmaxAVX2(scores[h*nPos : (h+1)*nPos])
		clear(out[h*d : (h+1)*d])
	}
	for t0 := 0; t0 < nPos; t0 += attnTile {
		n, o := min(attnTile, nPos-t0), t0*stride+off
		for h := h0; h < h0+group; h++ {
			if v.F16 != nil {
				attnValues128F16(&out[h*d], &scores[h*nPos+t0], &v.F16[o], n, stride)
			} else {
				attnValues128F32(&out[h*d], &scores[h*nPos+t0], &v.F32[o], n, stride)
			}
		}
	}
}
