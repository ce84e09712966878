package eval

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Tasks are the multiple-choice tasks LoadTask knows, with the templates of
// lm-evaluation-harness (see docs/eval.md for the files they follow).
var Tasks = []string{"xcopa", "xnli", "xstorycloze", "belebele", "m_arc", "m_hellaswag", "m_mmlu"}

// taskSpec is where a task's documents live and how one becomes a Doc.
type taskSpec struct {
	eval, fewshot string // split names: evaluated, few-shot source
	drawExtra     bool   // harness: fewshot_split == test_split
	sampler       string
	doc           func(subset string, r record) (Doc, error)
}

var specs = map[string]taskSpec{
	// XCOPA files keep their own names: LANG/test.LANG.jsonl, LANG/val.LANG.jsonl.
	"xcopa": {eval: "test", fewshot: "val", sampler: SamplerRandom, doc: xcopaDoc},
	// No test_split in the harness: validation is evaluated, and with
	// test_split unset the harness draws one extra example.
	"xnli":        {eval: "validation", fewshot: "train", drawExtra: true, sampler: SamplerRandom, doc: xnliDoc},
	"xstorycloze": {eval: "eval", fewshot: "train", drawExtra: true, sampler: SamplerRandom, doc: storyDoc},
	"belebele":    {eval: "test", fewshot: "test", drawExtra: true, sampler: SamplerFirstN, doc: belebeleDoc},
	"m_arc":       {eval: "test", fewshot: "train", sampler: SamplerRandom, doc: arcDoc},
	"m_hellaswag": {eval: "validation", fewshot: "validation", drawExtra: true, sampler: SamplerRandom, doc: hellaswagDoc},
	"m_mmlu":      {eval: "test", fewshot: "train", sampler: SamplerFirstN, doc: mmluDoc},
}

// LoadTask reads a task's subsets from dir. XCOPA uses the layout of its
// repository (LANG/test.LANG.jsonl, LANG/val.LANG.jsonl); the other tasks
// read SUBSET/SPLIT.jsonl with the Hugging Face dataset's field names, SUBSET
// being the dataset config (e.g. "en", "eng_Latn"), or SUBSET/SPLIT.parquet
// when there is no JSONL file (flat files only; see readParquet). Without subsets, every
// folder under dir is a subset (XCOPA, XNLI, XStoryCloze: their languages).
// The few-shot split is read only when shots > 0.
func LoadTask(name, dir string, subsets []string, shots int) ([]Subset, error) {
	sp, ok := specs[name]
	if !ok {
		return nil, fmt.Errorf("task %q: unknown (known: %s)", name, strings.Join(Tasks, ", "))
	}
	if len(subsets) == 0 {
		var err error
		if subsets, err = subdirs(dir); err != nil {
			return nil, fmt.Errorf("task %s: %w", name, err)
		}
		if len(subsets) == 0 {
			return nil, fmt.Errorf("task %s: no subset folders in %s", name, dir)
		}
	}
	var out []Subset
	for _, s := range subsets {
		sub := Subset{Name: s, DrawExtra: sp.drawExtra, Sampler: sp.sampler}
		var err error
		if sub.Docs, err = loadSplit(name, dir, s, sp.eval, sp); err != nil {
			return nil, err
		}
		if shots > 0 {
			if sub.FewShot, err = loadSplit(name, dir, s, sp.fewshot, sp); err != nil {
				return nil, err
			}
		}
		out = append(out, sub)
	}
	return out, nil
}

func subdirs(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

func splitPath(task, dir, subset, split string) string {
	if task == "xcopa" {
		return filepath.Join(dir, subset, split+"."+subset+".jsonl")
	}
	return filepath.Join(dir, subset, split+".jsonl")
}

func loadSplit(task, dir, subset, split string, sp taskSpec) ([]Doc, error) {
	path := splitPath(task, dir, subset, split)
	recs, err := readJSONL(path)
	if errors.Is(err, fs.ErrNotExist) {
		// SPLIT.parquet when there is no SPLIT.jsonl.
		pq := strings.TrimSuffix(path, ".jsonl") + ".parquet"
		if _, e := os.Stat(pq); e == nil {
			path = pq
			recs, err = readParquet(pq)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("task %s: %w", task, err)
	}
	docs := make([]Doc, 0, len(recs))
	for _, r := range recs {
		d, err := sp.doc(subset, r)
		if err != nil {
			return nil, fmt.Errorf("task %s: %s:%d: %w", task, path, r.line, err)
		}
		if d.Gold < 0 || d.Gold >= len(d.Choices) {
			return nil, fmt.Errorf("task %s: %s:%d: gold %d outside %d choices", task, path, r.line, d.Gold, len(d.Choices))
		}
		docs = append(docs, d)
	}
	return docs, nil
}

// record is one JSON object of a JSONL file.
type record struct {
	line int
	m    map[string]json.RawMessage
}

func readJSONL(path string) ([]record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var out []record
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		r := record{line: n}
		if err := json.Unmarshal([]byte(line), &r.m); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

func (r record) str(field string) (string, error) {
	raw, ok := r.m[field]
	if !ok {
		return "", fmt.Errorf("field %q missing", field)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("field %q: want a string, got %s", field, raw)
	}
	return s, nil
}

// optStr is a string field that may be missing or null (Okapi's option_e).
func (r record) optStr(field string) (string, error) {
	raw, ok := r.m[field]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	return r.str(field)
}

// int reads an integer field that may also be written as a string ("2").
func (r record) int(field string) (int, error) {
	raw, ok := r.m[field]
	if !ok {
		return 0, fmt.Errorf("field %q missing", field)
	}
	var n int
	if err := json.Unmarshal(raw, &n); err == nil {
		return n, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("field %q: want an integer, got %s", field, raw)
}

func (r record) strs(fields ...string) ([]string, error) {
	out := make([]string, len(fields))
	for i, f := range fields {
		var err error
		if out[i], err = r.str(f); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// pyStrip is Python's str.strip().
func pyStrip(s string) string { return strings.TrimFunc(s, isPySpace) }

// isPySpace is Python's str.isspace for one character: Go's Unicode
// white space plus the information separators U+001C..U+001F.
func isPySpace(r rune) bool { return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f }

// lowerFirst is the harness's convert_choice: choice[0].lower() + choice[1:].
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}

// xcopaConnectors are lm_eval/tasks/xcopa/utils.py's cause/effect words.
var xcopaConnectors = map[string][2]string{
	"et": {"sest", "seetõttu"},
	"ht": {"poukisa", "donk sa"},
	"it": {"perché", "quindi"},
	"id": {"karena", "maka"},
	"qu": {"imataq", "chaymi"},
	"sw": {"kwa sababu", "kwa hiyo"},
	"zh": {"因为", "所以"},
	"ta": {"காரணமாக", "எனவே"},
	"th": {"เพราะ", "ดังนั้น"},
	"tr": {"çünkü", "bu yüzden"},
	"vi": {"bởi vì", "vì vậy"},
}

// xcopaDoc: premise.strip()[:-1] + " " + connector (the final period is
// dropped), choices with a lower-cased first letter, gold = label.
func xcopaDoc(lang string, r record) (Doc, error) {
	conn, ok := xcopaConnectors[lang]
	if !ok {
		return Doc{}, fmt.Errorf("xcopa language %q has no connectors in the harness", lang)
	}
	f, err := r.strs("premise", "choice1", "choice2", "question")
	if err != nil {
		return Doc{}, err
	}
	label, err := r.int("label")
	if err != nil {
		return Doc{}, err
	}
	var c string
	switch f[3] {
	case "cause":
		c = conn[0]
	case "effect":
		c = conn[1]
	default:
		return Doc{}, fmt.Errorf("field \"question\": %q (want cause or effect)", f[3])
	}
	premise := pyStrip(f[0])
	if _, n := utf8.DecodeLastRuneInString(premise); n > 0 {
		premise = premise[:len(premise)-n]
	}
	if f[1] == "" || f[2] == "" {
		return Doc{}, fmt.Errorf("empty choice")
	}
	return Doc{Text: premise + " " + c, Choices: []string{lowerFirst(f[1]), lowerFirst(f[2])}, Gold: label}, nil
}

// xnliWords are lm_eval/tasks/xnli/utils.py's QUESTION_WORD and the
// entailment, neutral and contradiction labels.
var xnliWords = map[string][4]string{
	"ar": {"صحيح", "نعم", "لذا", "رقم"},
	"bg": {"правилно", "да", "така", "не"},
	"de": {"richtig", "Ja", "Auch", "Nein"},
	"el": {"σωστός", "Ναί", "Έτσι", "όχι"},
	"en": {"right", "Yes", "Also", "No"},
	"es": {"correcto", "Sí", "Asi que", "No"},
	"fr": {"correct", "Oui", "Aussi", "Non"},
	"hi": {"सही", "हाँ", "इसलिए", "नहीं"},
	"ru": {"правильно", "Да", "Так", "Нет"},
	"sw": {"sahihi", "Ndiyo", "Hivyo", "Hapana"},
	"th": {"ถูกต้อง", "ใช่", "ดังนั้น", "ไม่"},
	"tr": {"doğru", "Evet", "Böylece", "Hayır"},
	"ur": {"صحیح", "جی ہاں", "اس لئے", "نہیں"},
	"vi": {"đúng", "Vâng", "Vì vậy", "Không"},
	"zh": {"正确", "是的", "所以", "不是的"},
}

// xnliDoc: "{premise}, {QUESTION_WORD}?" and "{LABEL}, {hypothesis}" for
// entailment, neutral, contradiction; gold = label (0, 1, 2).
func xnliDoc(lang string, r record) (Doc, error) {
	w, ok := xnliWords[lang]
	if !ok {
		return Doc{}, fmt.Errorf("xnli language %q has no prompt words in the harness", lang)
	}
	f, err := r.strs("premise", "hypothesis")
	if err != nil {
		return Doc{}, err
	}
	label, err := r.int("label")
	if err != nil {
		return Doc{}, err
	}
	return Doc{Text: f[0] + ", " + w[0] + "?", Choices: []string{w[1] + ", " + f[1], w[2] + ", " + f[1], w[3] + ", " + f[1]}, Gold: label}, nil
}

// storyDoc: the four input sentences joined by spaces; choices the two
// quiz sentences; gold = answer_right_ending - 1.
func storyDoc(_ string, r record) (Doc, error) {
	f, err := r.strs("input_sentence_1", "input_sentence_2", "input_sentence_3", "input_sentence_4", "sentence_quiz1", "sentence_quiz2")
	if err != nil {
		return Doc{}, err
	}
	a, err := r.int("answer_right_ending")
	if err != nil {
		return Doc{}, err
	}
	return Doc{Text: strings.Join(f[:4], " "), Choices: f[4:6], Gold: a - 1}, nil
}

// belebeleDoc follows lm_eval/tasks/belebele/_default_template_yaml,
// including its full-width colon after "Answer".
func belebeleDoc(_ string, r record) (Doc, error) {
	f, err := r.strs("flores_passage", "question", "mc_answer1", "mc_answer2", "mc_answer3", "mc_answer4")
	if err != nil {
		return Doc{}, err
	}
	n, err := r.int("correct_answer_num")
	if err != nil {
		return Doc{}, err
	}
	text := "P: " + f[0] + "\nQ: " + pyStrip(f[1]) + "\nA: " + f[2] + "\nB: " + f[3] + "\nC: " + f[4] + "\nD: " + f[5] + "\nAnswer："
	return Doc{Text: text, Choices: []string{"A", "B", "C", "D"}, Gold: n - 1}, nil
}

// arcDoc follows lm_eval/tasks/okapi/arc_multilingual/utils.py:
// "Question: {instruction}\nAnswer:", the non-empty options a..e, gold =
// index of answer in A..E.
func arcDoc(_ string, r record) (Doc, error) {
	q, err := r.str("instruction")
	if err != nil {
		return Doc{}, err
	}
	var choices []string
	for _, k := range []string{"option_a", "option_b", "option_c", "option_d", "option_e"} {
		o, err := r.optStr(k)
		if err != nil {
			return Doc{}, err
		}
		if o != "" {
			choices = append(choices, o)
		}
	}
	gold, err := letterIndex(r, "ABCDE")
	if err != nil {
		return Doc{}, err
	}
	return Doc{Text: "Question: " + q + "\nAnswer:", Choices: choices, Gold: gold}, nil
}

// mmluDoc follows lm_eval/tasks/okapi/mmlu_multilingual/_default_yaml.
func mmluDoc(_ string, r record) (Doc, error) {
	f, err := r.strs("instruction", "option_a", "option_b", "option_c", "option_d")
	if err != nil {
		return Doc{}, err
	}
	gold, err := letterIndex(r, "ABCD")
	if err != nil {
		return Doc{}, err
	}
	text := pyStrip(f[0]) + "\nA. " + f[1] + "\nB. " + f[2] + "\nC. " + f[3] + "\nD. " + f[4] + "\nAnswer:"
	return Doc{Text: text, Choices: []string{"A", "B", "C", "D"}, Gold: gold}, nil
}

func letterIndex(r record, letters string) (int, error) {
	a, err := r.str("answer")
	if err != nil {
		return 0, err
	}
	if len(a) != 1 || !strings.Contains(letters, a) {
		return 0, fmt.Errorf("field \"answer\": %q (want one of %s)", a, letters)
	}
	return strings.Index(letters, a), nil
}

var bracketed = regexp.MustCompile(`\[.*?\]`)

// hellaswagPreprocess is the harness's hellaswag preprocess.
func hellaswagPreprocess(s string) string {
	s = pyStrip(s)
	s = strings.ReplaceAll(s, " [title]", ". ")
	s = bracketed.ReplaceAllString(s, "")
	return strings.ReplaceAll(s, "  ", " ")
}

// pyCapitalize is Python's str.capitalize: first character upper-cased
// (title case), the rest lower-cased.
func pyCapitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToTitle(r)) + strings.ToLower(s[n:])
}

// hellaswagDoc follows the harness's Okapi hellaswag utils: query =
// preprocess(activity_label + ": " + ctx_a + " " + ctx_b.capitalize()),
// choices = preprocessed endings, gold = int(label).
func hellaswagDoc(_ string, r record) (Doc, error) {
	f, err := r.strs("activity_label", "ctx_a", "ctx_b")
	if err != nil {
		return Doc{}, err
	}
	var endings []string
	raw, ok := r.m["endings"]
	if !ok {
		return Doc{}, fmt.Errorf("field \"endings\" missing")
	}
	if err := json.Unmarshal(raw, &endings); err != nil {
		return Doc{}, fmt.Errorf("field \"endings\": want a list of strings: %w", err)
	}
	label, err := r.int("label")
	if err != nil {
		return Doc{}, err
	}
	choices := make([]string, len(endings))
	for i, e := range endings {
		choices[i] = hellaswagPreprocess(e)
	}
	ctx := f[1] + " " + pyCapitalize(f[2])
	return Doc{Text: hellaswagPreprocess(f[0] + ": " + ctx), Choices: choices, Gold: label}, nil
}
