package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/testenv"
)

// runCLI runs `bayling ARGS...` in process and returns stdout.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	c := newGenerateCmd()
	var out, errOut bytes.Buffer
	c.SetOut(&out)
	c.SetErr(&errOut)
	c.SetArgs(args)
	err := c.Execute()
	t.Logf("stderr: %s", strings.TrimSpace(errOut.String()))
	return out.String(), err
}

type golden struct {
	PromptIDs []int `json:"prompt_ids"`
	IDs       []int `json:"ids"`
}

var generateGoldens = []struct {
	name   string
	prompt string
	steps  int // run.c -n: positions, prompt included
	flags  []string
}{
	{"stories260K_t0_n200", "", 200, []string{"--temp", "0"}},
	{"stories260K_t0_n256", "", 256, []string{"--temp", "0"}},
	{"stories260K_t0_n64_once", "Once upon a time", 64, []string{"--temp", "0"}},
	{"stories260K_t0_n48_bytefallback", "Lily saw a café 🦙", 48, []string{"--temp", "0"}},
	// run.c's sampler: no top-k or min-p, nucleus 0.9.
	{"stories260K_t1_p0.9_s133742", "", 256, []string{"--temp", "1", "--top-p", "0.9", "--top-k", "0", "--min-p", "0", "--seed", "133742"}},
}

func storiesArgs(t *testing.T, prompt string, steps, promptLen int, flags []string) []string {
	model := testenv.SharedPath(t, "fixtures", "stories260K", "stories260K.bin")
	// run.c samples at positions promptLen-1 .. steps-1.
	n := steps - promptLen + 1
	return append([]string{"-m", model, "-p", prompt, "-n", strconv.Itoa(n), "-t", "1"}, flags...)
}

func readGolden(t *testing.T, name string) golden {
	b, err := os.ReadFile(testenv.SharedPath(t, "golden", name+".ids.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGenerateIDsGolden(t *testing.T) {
	for _, c := range generateGoldens {
		t.Run(c.name, func(t *testing.T) {
			g := readGolden(t, c.name)
			out, err := runCLI(t, append(storiesArgs(t, c.prompt, c.steps, len(g.PromptIDs), c.flags), "--ids")...)
			if err != nil {
				t.Fatal(err)
			}
			want := g.IDs[len(g.PromptIDs):]
			if n := len(want); want[n-1] == 1 { // run.c stopped on BOS; we do not print it
				want = want[:n-1]
			}
			var ws []string
			for _, id := range want {
				ws = append(ws, strconv.Itoa(id))
			}
			if got := strings.TrimSuffix(out, "\n"); got != strings.Join(ws, " ") {
				t.Fatalf("ids\n got %s\nwant %s", got, strings.Join(ws, " "))
			}
		})
	}
}

// The text equals run.c's stdout, except that run.c's safe_printf drops
// pieces that are a single non-printable byte (the emoji's byte-fallback
// tokens), which we print.
func TestGenerateTextGolden(t *testing.T) {
	for _, c := range generateGoldens {
		t.Run(c.name, func(t *testing.T) {
			g := readGolden(t, c.name)
			out, err := runCLI(t, storiesArgs(t, c.prompt, c.steps, len(g.PromptIDs), c.flags)...)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(testenv.SharedPath(t, "golden", c.name+".stdout.txt"))
			if err != nil {
				t.Fatal(err)
			}
			want := string(b)
			got := out
			if strings.Contains(c.prompt, "🦙") {
				if !strings.Contains(got, "café 🦙") {
					t.Fatalf("emoji missing from %q", got)
				}
				got = strings.Replace(got, "🦙", "", 1)
			}
			if got != want {
				t.Fatalf("text\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestGenerateGGUFMatchesLlamaSimple(t *testing.T) {
	model := testenv.SharedPath(t, "fixtures", "gguf", "stories260K.llamacpp-c392e50.gguf")
	out, err := runCLI(t, "-m", model, "-p", "Once upon a time", "-n", "59", "--temp", "0", "-t", "2")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(testenv.SharedPath(t, "golden", "stories260K_gguf_llama-simple_n59_once.stdout.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// llama-simple echoes the BOS piece "<s>" and a space before the prompt.
	want := strings.TrimPrefix(string(b), "<s> ")
	if strings.TrimRight(out, "\n") != strings.TrimRight(want, "\n") {
		t.Fatalf("text\n got %q\nwant %q", out, want)
	}
}

func TestGenerateStopString(t *testing.T) {
	model := testenv.SharedPath(t, "fixtures", "stories260K", "stories260K.bin")
	out, err := runCLI(t, "-m", model, "-p", "Once upon a time", "--temp", "0", "-n", "100", "--stop", "Lily.")
	if err != nil {
		t.Fatal(err)
	}
	if out != "Once upon a time, there was a little girl named \n" {
		t.Fatalf("got %q", out)
	}
	out, err = runCLI(t, "-m", model, "-p", "Once upon a time", "--temp", "0", "-n", "3", "--no-display-prompt")
	if err != nil {
		t.Fatal(err)
	}
	if out != ", there was\n" {
		t.Fatalf("got %q", out)
	}
	// Greedy continues "Once upon a time" with 432 383 286 ...: stopping on
	// 286 keeps two tokens.
	out, err = runCLI(t, "-m", model, "-p", "Once upon a time", "--temp", "0", "-n", "10", "--ids", "--stop-id", "286")
	if err != nil || out != "432 383\n" {
		t.Fatalf("--stop-id: got %q, %v", out, err)
	}
	// In --ids mode a stop string ends generation after the token that
	// completes it: " girl" is pieces 298 315 421 ("▁g" "ir" "l").
	out, err = runCLI(t, "-m", model, "-p", "Once upon a time", "--temp", "0", "-n", "20", "--ids", "--stop", " girl")
	if err != nil || out != "432 383 286 261 376 298 315 421\n" {
		t.Fatalf("--ids --stop: got %q, %v", out, err)
	}
}

func TestGeneratePromptFile(t *testing.T) {
	model := testenv.SharedPath(t, "fixtures", "stories260K", "stories260K.bin")
	path := filepath.Join(t.TempDir(), "prompt.txt")
	if err := os.WriteFile(path, []byte("Once upon a time"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "-m", model, "-f", path, "--temp", "0", "-n", "3", "--ids")
	if err != nil || out != "432 383 286\n" {
		t.Fatalf("-f: got %q, %v", out, err)
	}
	c := newGenerateCmd()
	var buf bytes.Buffer
	c.SetIn(strings.NewReader("Once upon a time"))
	c.SetOut(&buf)
	c.SetErr(io.Discard)
	c.SetArgs([]string{"-m", model, "-f", "-", "--temp", "0", "-n", "3", "--ids"})
	if err := c.Execute(); err != nil || buf.String() != "432 383 286\n" {
		t.Fatalf("-f -: got %q, %v", buf.String(), err)
	}
	if _, err := runCLI(t, "-m", model, "-f", path, "-p", "x"); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("-p with -f: %v", err)
	}
}

func TestGenerateF16Cache(t *testing.T) {
	model := testenv.SharedPath(t, "fixtures", "stories260K", "stories260K.bin")
	g := readGolden(t, "stories260K_t0_n64_once")
	out, err := runCLI(t, "-m", model, "-p", "Once upon a time", "--temp", "0", "-n", "60", "--ids", "--cache-type", "f16")
	if err != nil {
		t.Fatal(err)
	}
	var ws []string
	for _, id := range g.IDs[len(g.PromptIDs):] {
		ws = append(ws, strconv.Itoa(id))
	}
	if got := strings.TrimSpace(out); got != strings.Join(ws, " ") {
		t.Fatalf("f16 cache ids\n got %s\nwant %s", got, strings.Join(ws, " "))
	}
	if _, err := runCLI(t, "-m", model, "--cache-type", "q9"); err == nil || !strings.Contains(err.Error(), "--cache-type") {
		t.Fatalf("bad cache type: %v", err)
	}
}

func TestGenerateErrors(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "model.bin")
	src, err := os.ReadFile(testenv.SharedPath(t, "fixtures", "stories260K", "stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, src, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-p", "x"}, `required flag(s) "model" not set`},
		{[]string{"-m", bin, "-p", "x"}, "no tokenizer: looked for tokenizer.bin and tok512.bin in " + dir},
		{[]string{"-m", filepath.Join(dir, "nope.bin")}, "nope.bin: no such file"},
		{[]string{"-m", bin, "--tokenizer", testenv.SharedPath(t, "fixtures", "stories260K", "tok512.bin"), "-n", "-2"}, "-n -2"},
		{[]string{"-m", bin, "--tokenizer", testenv.SharedPath(t, "fixtures", "stories260K", "tok512.bin"), "--temp", "-1"}, "temperature -1"},
		{[]string{"-m", bin, "--tokenizer", testenv.SharedPath(t, "fixtures", "llama2", "tokenizer.model")}, "tokenizer has 32000 tokens, model 512"},
		{[]string{"-m", bin, "--tokenizer", testenv.SharedPath(t, "fixtures", "stories260K", "tok512.bin"), "-c", "600"}, "context length 600 outside 1..512"},
	}
	for _, c := range cases {
		_, err := runCLI(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want %q", c.args, err, c.want)
		}
	}
	// With --tokenizer the same model runs.
	out, err := runCLI(t, "-m", bin, "--tokenizer", testenv.SharedPath(t, "fixtures", "stories260K", "tok512.bin"), "--temp", "0", "-n", "3", "--ids")
	if err != nil || out != "403 407 261\n" {
		t.Fatalf("got %q, %v", out, err)
	}
}

// The context fills up before -n: generation ends cleanly.
func TestGenerateContextFull(t *testing.T) {
	model := testenv.SharedPath(t, "fixtures", "stories260K", "stories260K.bin")
	out, err := runCLI(t, "-m", model, "--temp", "1", "--top-k", "0", "--top-p", "1", "--min-p", "0", "--seed", "5", "-c", "8", "-n", "50", "--ids")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(out)); n > 8 || n == 0 {
		t.Fatalf("%d tokens generated in a context of 8: %q", n, out)
	}
}

func TestGenerateRegistered(t *testing.T) {
	c, _, err := rootCmd.Find([]string{"generate"})
	if err != nil || c.Name() != "generate" {
		t.Fatalf("generate not registered: %v", err)
	}
}

// llama.cpp (github:ggerganov/llama.cpp@c392e50, CPU build under /work/ref)
// on ollama's random-weight F16 model: stdout of
// `llama-simple -m llama-2-tiny-random.gguf -n N PROMPT` (greedy), which
// echoes "<s> " and the prompt. With the prompt "你好，世界" the two
// programs part after 11 tokens at a near-tie (logit margin 1.1e-5, within
// the rounding of llama.cpp's F16 activations), so that prompt is not used.
var llamaSimpleTinyRandom = []struct {
	prompt string
	n      int
	stdout string
}{
	{"Hello world, this is", 24, "<s> Hello world, this is古 swochadoor execut Warner Thoughcircle深 pag (- aber équip Ele Werk zesificate successo status heutigenโgele Harttek\n"},
	{"The capital of France is", 64, "<s> The capital of France is古 swochadoorter scientific WindowsCa occupiedrå alta successionникиizaçãountaException inwonersleb Ele Werk zesificate successo status heutigenโ zesificate successo status heutigenโ zesificate successo status heutigenโ zesificate successo status heutigenโ zesificate successo status heutigenโgele HarttekupsologЕfahrtникиizaçãountaException inwonersleb Ele\n"},
}

func TestGenerateF16MatchesLlamaSimple(t *testing.T) {
	model := testenv.SharedPath(t, "fixtures", "gguf", "llama-2-tiny-random.gguf")
	for _, c := range llamaSimpleTinyRandom {
		out, err := runCLI(t, "-m", model, "-p", c.prompt, "-n", strconv.Itoa(c.n), "--temp", "0")
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.TrimPrefix(c.stdout, "<s> "); out != want {
			t.Errorf("%q:\n got %q\nwant %q", c.prompt, out, want)
		}
	}
}
