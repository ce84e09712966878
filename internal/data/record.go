// Package data builds language-alignment instruction sets: it reads parallel
// corpora and zh/en instruction sets, generates cross-lingual instructions,
// filters, deduplicates and mixes them, and writes sharded JSONL with a
// manifest. Every stage is a plain transform over records so the same code
// runs locally and inside the Beam pipeline.
package data

// Task names the kind of instruction a record is; mixing ratios and stats
// are kept per task.
type Task string

const (
	TaskTranslate    Task = "translate"    // translate a sentence between two languages
	TaskCrossLingual Task = "crosslingual" // instruction in one language, answer in another
	TaskMultiTurn    Task = "multiturn"    // interactive translation with a revision turn
	TaskInstruct     Task = "instruct"     // a zh/en instruction passed through
)

// Message is one chat turn in OpenAI form.
type Message struct {
	Role    string `json:"role"` // system, user, assistant
	Content string `json:"content"`
}

// Record is one training example.
type Record struct {
	ID       string    `json:"id"`
	Task     Task      `json:"task"`
	Lang     string    `json:"lang"`               // the record's language (the answer's for cross-lingual data)
	SrcLang  string    `json:"src_lang,omitempty"` // for translation: source language
	TgtLang  string    `json:"tgt_lang,omitempty"` // for translation: target language
	Messages []Message `json:"messages"`
	Origin   string    `json:"origin,omitempty"` // file:line the record came from

	// payloadSrc is the bare source text of translation-like records (without
	// the prompt template), which length, script, LID and near-dup checks use.
	payloadSrc string
}

// Category is the mixing bucket a record counts toward: zh and en
// monolingual instructions, and everything cross-lingual.
func (r *Record) Category() string {
	if r.Task == TaskInstruct {
		switch r.Lang {
		case "zho_Hans", "zho_Hant":
			return CatZh
		case "eng_Latn":
			return CatEn
		}
	}
	return CatCross
}

// Mixing categories; the default ratio is BayLing 2's 43.2/26.2/30.6.
const (
	CatZh    = "zh"
	CatEn    = "en"
	CatCross = "cross"
)

// Parallel is one aligned unit: the same sentence in several languages.
type Parallel struct {
	Text   map[string]string // language code -> sentence
	Origin string
}

// Instruction is a single- or multi-turn instruction-following example.
type Instruction struct {
	Lang     string
	Messages []Message
	Origin   string
}
