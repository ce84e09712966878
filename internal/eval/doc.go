// Package eval runs model evaluations: perplexity with llama.cpp's
// windowing (llama-perplexity), multiple choice by log-likelihood with
// lm-evaluation-harness semantics, and translation runs over FLORES-style
// folders scored with the sacreBLEU-exact metrics of package eval/metrics.
// See docs/eval.md.
package eval
