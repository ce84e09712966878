package server

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bayling-go/bayling/internal/engine"
	"github.com/bayling-go/bayling/internal/testenv"
)

// browserDeps finds chromium and playwright-core as scripts/browser-deps.sh
// installs them; missing ones fail under CI and skip otherwise.
func browserDeps(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("BAYLING_BROWSER_DEPS")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "bayling", "browser")
	}
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node"
	} else if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		missing = "/usr/bin/chromium"
	} else if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core", "package.json")); err != nil {
		missing = "playwright-core in " + dir
	}
	if missing != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("browser test needs %s: run scripts/test-deps.sh", missing)
		}
		t.Skipf("browser test needs %s: run scripts/browser-deps.sh", missing)
	}
	return dir
}

// The page, in headless chromium, streams a chat reply over two turns and
// translates through the language pickers. Screenshots go to testdata/out/.
func TestBrowserPage(t *testing.T) {
	deps := browserDeps(t)
	ts := start(t, engine.Options{Slots: 2, Context: 512}, Options{})
	out := filepath.Join(testenv.ModuleRoot(t), "testdata", "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(out, "web-chat.png")
	cmd := exec.CommandContext(t.Context(), "node", filepath.Join("testdata", "browser_test.mjs"), ts.url+"/", shot, t.TempDir())
	cmd.Env = append(os.Environ(), "PLAYWRIGHT_DIR="+deps)
	stdout, err := cmd.Output()
	var ee *exec.ExitError
	if err != nil && !(errorsAs(err, &ee) && len(stdout) > 0) {
		t.Fatalf("node: %v\n%s", err, stderrOf(err))
	}
	var r struct {
		Errors        []string
		Model         string
		First, Second struct {
			Text    string
			Updates int
		}
		Turns            []int
		Stream           bool
		Translation      string
		TranslateRequest map[string]any
		Languages        int
		External         []string
	}
	if err := json.Unmarshal(stdout, &r); err != nil {
		t.Fatalf("browser script output %q: %v\n%s", stdout, err, stderrOf(err))
	}
	if len(r.Errors) > 0 {
		t.Fatalf("browser: %s", strings.Join(r.Errors, "\n"))
	}
	t.Logf("reply 1 (%d updates): %q", r.First.Updates, r.First.Text)
	t.Logf("reply 2 (%d updates): %q", r.Second.Updates, r.Second.Text)
	t.Logf("translation: %q", r.Translation)
	switch {
	case r.Model != modelID:
		t.Errorf("page shows model %q", r.Model)
	case r.First.Text == "" || r.Second.Text == "":
		t.Errorf("empty replies %q %q", r.First.Text, r.Second.Text)
	case max(r.First.Updates, r.Second.Updates) < 2:
		// One reply may come in one piece when the browser is starved of
		// CPU (its reads then hold every SSE event); a page that does not
		// stream gets one update for both.
		t.Errorf("the replies arrived in %d and %d update(s), not streamed", r.First.Updates, r.Second.Updates)
	case !r.Stream || len(r.Turns) != 2 || r.Turns[0] != 1 || r.Turns[1] != 3:
		t.Errorf("chat requests: stream %v, messages per request %v (want 1 then 3)", r.Stream, r.Turns)
	case r.Translation == "" || strings.HasPrefix(r.Translation, "Error"):
		t.Errorf("translation %q", r.Translation)
	case r.TranslateRequest["target"] != "deu_Latn" || r.TranslateRequest["source"] != "eng_Latn":
		t.Errorf("translate request %v", r.TranslateRequest)
	case r.Languages < 200:
		t.Errorf("%d target languages", r.Languages)
	case len(r.External) > 0:
		t.Errorf("page fetched external resources: %v", r.External)
	}
	if st, err := os.Stat(shot); err != nil || st.Size() < 5000 {
		t.Errorf("screenshot %s: %v", shot, err)
	}
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

func stderrOf(err error) string {
	if e, ok := err.(*exec.ExitError); ok {
		return string(e.Stderr)
	}
	return ""
}
