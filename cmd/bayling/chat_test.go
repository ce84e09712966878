package main

import (
	"bytes"
	"strings"
	"testing"
)

func runChatCLI(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	c := newChatCmd()
	var out, errOut bytes.Buffer
	c.SetIn(strings.NewReader(stdin))
	c.SetOut(&out)
	c.SetErr(&errOut)
	c.SetArgs(args)
	err := c.Execute()
	return out.String(), errOut.String(), err
}

func TestChatSession(t *testing.T) {
	model := storiesModel(t)
	args := []string{"-m", model, "--template", "bayling-llama2", "--temp", "0", "-n", "20", "-t", "1"}
	// Greedy: the same first message after /reset gets the same reply.
	in := "Tell me a story.\nAnd then?\n/bogus\n/reset\nTell me a story.\n/system You are a storyteller.\nTell me a story.\n/exit\nnever read\n"
	out, stderr, err := runChatCLI(t, in, args...)
	if err != nil {
		t.Fatal(err)
	}
	replies := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	t.Logf("replies %q", replies)
	if !strings.Contains(stderr, "unknown command /bogus") || !strings.Contains(stderr, "(conversation cleared)") {
		t.Fatalf("stderr %q", stderr)
	}
	// stories260K writes multi-line stories; count replies by the prompt marks instead.
	if n := strings.Count(stderr, "> "); n != 8 {
		t.Fatalf("%d prompts shown, want 8: %q", n, stderr)
	}
	first, _, _ := runChatCLI(t, "Tell me a story.\n", args...)
	if !strings.HasPrefix(out, first) || strings.Count(out, first) < 2 {
		t.Fatalf("after /reset the reply differs:\nsession %q\nalone   %q", out, first)
	}
}

// A small context forces the oldest exchanges out of the prompt.
func TestChatTrimsHistory(t *testing.T) {
	model := storiesModel(t)
	in := strings.Repeat("Tell me a long story about a big red ball and a dog.\n", 6)
	// The BayLing system text alone is ~130 tokens of this 512-token vocabulary.
	_, stderr, err := runChatCLI(t, in, "-m", model, "--template", "bayling-llama2", "--temp", "0", "-n", "30", "-c", "300", "-t", "1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "context full: left out the 2 oldest messages") {
		t.Fatalf("no trimming reported: %q", stderr)
	}
	_, stderr, err = runChatCLI(t, strings.Repeat("word ", 400)+"\n", "-m", model, "--template", "bayling-llama2", "-c", "300", "-t", "1")
	if err != nil || !strings.Contains(stderr, "the last message alone needs") {
		t.Fatalf("over-long message: %v %q", err, stderr)
	}
}
