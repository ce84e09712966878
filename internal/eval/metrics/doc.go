// Package metrics computes BLEU, chrF/chrF++ and TER with the exact
// semantics, scores and signatures of sacreBLEU 2.6.0.
//
// Everything that decides a score is reproduced from sacreBLEU's source:
// the tokenizers (13a, intl, zh, char, none, and the SentencePiece based
// flores101/flores200), Python's notion of whitespace and lowercasing,
// the smoothing formulas, the closest-reference-length rule, chrF's
// best-reference selection and Tercom's shift heuristics. Scores come with
// sacreBLEU's signature strings so results can be compared line by line.
//
// Internally n-grams are integer-coded per segment (token ids chained into
// n-gram ids through an open-addressing table), and segments are scored in
// parallel by a small worker pool; nothing is compiled or allocated per
// sentence once the workers are warm.
package metrics

// Version is the sacreBLEU version whose semantics this package follows; it
// appears in every signature.
const Version = "2.6.0"
