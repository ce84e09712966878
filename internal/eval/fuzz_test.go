package eval

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadTask feeds arbitrary JSON lines to every task loader: they must
// return documents with a valid gold index or an error, never panic.
func FuzzLoadTask(f *testing.F) {
	f.Add(`{"premise":"Il gatto dorme.","choice1":"Era stanco.","choice2":"Era felice.","question":"cause","label":0}`)
	f.Add(`{"premise":"p","hypothesis":"h","label":"1"}`)
	f.Add(`{"input_sentence_1":"a","input_sentence_2":"b","input_sentence_3":"c","input_sentence_4":"d","sentence_quiz1":"e","sentence_quiz2":"f","answer_right_ending":0}`)
	f.Add(`{"flores_passage":"p","question":"q","mc_answer1":"a","mc_answer2":"b","mc_answer3":"c","mc_answer4":"d","correct_answer_num":"4"}`)
	f.Add(`{"instruction":"q","option_a":"a","option_b":null,"option_c":"","option_d":"d","answer":"E"}`)
	f.Add(`{"activity_label":"x","ctx_a":"a","ctx_b":"","endings":[],"label":"0"}`)
	f.Add(`{"premise":"","choice1":"","choice2":"x","question":"effect","label":1}`)
	f.Fuzz(func(t *testing.T, line string) {
		dir := t.TempDir()
		for _, task := range Tasks {
			sub := "it"
			if task == "xnli" || task == "xstorycloze" {
				sub = "en"
			}
			sp := specs[task]
			path := splitPath(task, dir, sub, sp.eval)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(line+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			subs, err := LoadTask(task, dir, []string{sub}, 0)
			if err != nil {
				continue
			}
			for _, d := range subs[0].Docs {
				if d.Gold < 0 || d.Gold >= len(d.Choices) {
					t.Fatalf("%s: gold %d of %d choices accepted", task, d.Gold, len(d.Choices))
				}
			}
		}
	})
}
