package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const commit = "0123456789abcdef0123456789abcdef01234567"

// fakeHub speaks the hub's api/models and resolve routes for one repository.
// Weights are LFS files (sha256 ETag behind a redirect); small files are git
// files (blob sha1 ETag).
type fakeHub struct {
	files map[string][]byte
	lfs   map[string]bool
	mu    sync.Mutex
	// cutAfter > 0 makes the next GET of a file send only that many bytes.
	cutAfter map[string]int
	// corrupt makes the next GET of a file flip a byte.
	corrupt map[string]bool
	served  map[string]int // bytes served per file
	ranges  []string
	token   string
}

func newFakeHub() *fakeHub {
	w := make([]byte, 300000)
	for i := range w {
		w[i] = byte(i * 7 % 251)
	}
	return &fakeHub{
		files:    map[string][]byte{"config.json": []byte(`{"model_type":"llama"}`), "model.safetensors": w, "README.md": []byte("hi"), "pytorch_model.bin": []byte("pickle")},
		lfs:      map[string]bool{"model.safetensors": true},
		cutAfter: map[string]int{}, corrupt: map[string]bool{}, served: map[string]int{},
	}
}

func etagOf(b []byte, lfs bool) string {
	if lfs {
		s := sha256.Sum256(b)
		return hex.EncodeToString(s[:])
	}
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func (f *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.token != "" && r.Header.Get("Authorization") != "Bearer "+f.token {
		http.Error(w, "gated", http.StatusUnauthorized)
		return
	}
	p := r.URL.Path
	switch {
	case p == "/api/models/org/tiny/revision/main" || p == "/api/models/org/tiny/revision/"+commit:
		var sib []map[string]string
		for n := range f.files {
			sib = append(sib, map[string]string{"rfilename": n})
		}
		json.NewEncoder(w).Encode(map[string]any{"sha": commit, "siblings": sib})
	case strings.HasPrefix(p, "/org/tiny/resolve/"+commit+"/"):
		name := strings.TrimPrefix(p, "/org/tiny/resolve/"+commit+"/")
		data, ok := f.files[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if f.lfs[name] && r.URL.Query().Get("cdn") == "" {
			// LFS: the hub answers with the linked ETag and redirects to storage.
			w.Header().Set("X-Linked-Etag", `"`+etagOf(data, true)+`"`)
			w.Header().Set("X-Linked-Size", strconv.Itoa(len(data)))
			w.Header().Set("X-Repo-Commit", commit)
			http.Redirect(w, r, r.URL.Path+"?cdn=1", http.StatusFound)
			return
		}
		if !f.lfs[name] {
			w.Header().Set("ETag", `"`+etagOf(data, false)+`"`)
		}
		if r.Method == http.MethodHead {
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			return
		}
		f.mu.Lock()
		cut, bad := f.cutAfter[name], f.corrupt[name]
		delete(f.cutAfter, name)
		delete(f.corrupt, name)
		f.ranges = append(f.ranges, name+" "+r.Header.Get("Range"))
		f.mu.Unlock()
		start := 0
		if rg := r.Header.Get("Range"); rg != "" {
			start, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(data)-1, len(data)))
			w.Header().Set("Content-Length", strconv.Itoa(len(data)-start))
			w.WriteHeader(http.StatusPartialContent)
		} else {
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		}
		body := append([]byte(nil), data[start:]...)
		if bad {
			body[len(body)/2] ^= 0xff
		}
		if cut > 0 {
			body = body[:cut]
		}
		// Count before writing: the client may finish reading before this
		// handler runs another line.
		f.mu.Lock()
		f.served[name] += len(body)
		f.mu.Unlock()
		w.Write(body)
		if cut > 0 {
			// Drop the connection so the client sees a short body.
			if hj, ok := w.(http.Hijacker); ok {
				w.(http.Flusher).Flush()
				c, _, _ := hj.Hijack()
				c.Close()
			}
		}
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeHub) servedOf(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.served[name]
}

func newClient(t *testing.T, srv *httptest.Server) *Client {
	return &Client{Endpoint: srv.URL, Cache: t.TempDir(), HTTP: srv.Client()}
}

func TestPullLayoutResumeAndReuse(t *testing.T) {
	hub := newFakeHub()
	srv := httptest.NewServer(hub)
	defer srv.Close()
	c := newClient(t, srv)
	ref, _ := ParseRef("org/tiny")

	hub.cutAfter["model.safetensors"] = 100000
	if _, err := c.Pull(context.Background(), ref, nil); err == nil || !strings.Contains(err.Error(), "resume") {
		t.Fatalf("interrupted pull: err = %v", err)
	}
	snap, err := c.Pull(context.Background(), ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := hub.servedOf("model.safetensors"); got != 300000 {
		t.Errorf("served %d bytes of the weights in all, want 300000 (resume, not restart)", got)
	}
	// The second pull asked for the rest of the weights only (file order
	// follows the hub's listing, so look for the request anywhere).
	resumed := false
	for _, r := range hub.ranges {
		resumed = resumed || r == "model.safetensors bytes=100000-"
	}
	if !resumed {
		t.Errorf("no resume request: %v", hub.ranges)
	}
	// Layout: snapshots/<commit>/file -> ../../blobs/<etag>, refs/main.
	for name, lfs := range map[string]bool{"model.safetensors": true, "config.json": false} {
		target, err := os.Readlink(filepath.Join(snap, name))
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join("..", "..", "blobs", etagOf(hub.files[name], lfs)); target != want {
			t.Errorf("%s -> %s, want %s", name, target, want)
		}
	}
	if _, err := os.Stat(filepath.Join(snap, "pytorch_model.bin")); err == nil {
		t.Error("pickle weights downloaded by default")
	}
	b, _ := os.ReadFile(filepath.Join(c.Cache, "models--org--tiny", "refs", "main"))
	if string(b) != commit {
		t.Errorf("refs/main = %q", b)
	}

	// A second pull downloads nothing.
	before := len(hub.ranges)
	if _, err := c.Pull(context.Background(), ref, nil); err != nil {
		t.Fatal(err)
	}
	if len(hub.ranges) != before {
		t.Errorf("second pull downloaded %v", hub.ranges[before:])
	}
	// Resolve works offline.
	got, err := c.Resolve(ref)
	if err != nil || got != snap {
		t.Fatalf("Resolve = %s, %v", got, err)
	}
}

func TestCorruptionDetectedAndRefetched(t *testing.T) {
	hub := newFakeHub()
	srv := httptest.NewServer(hub)
	defer srv.Close()
	c := newClient(t, srv)
	ref, _ := ParseRef("org/tiny@main")

	// Corrupt in transit once: verified, discarded, fetched again.
	hub.corrupt["model.safetensors"] = true
	snap, err := c.Pull(context.Background(), ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Corrupt on disk: the next pull notices and fetches it again.
	blob, _ := filepath.EvalSymlinks(filepath.Join(snap, "model.safetensors"))
	data, _ := os.ReadFile(blob)
	data[5] ^= 1
	os.WriteFile(blob, data, 0o644)
	before := hub.servedOf("model.safetensors")
	if _, err := c.Pull(context.Background(), ref, nil); err != nil {
		t.Fatal(err)
	}
	if hub.servedOf("model.safetensors")-before != 300000 {
		t.Errorf("corrupt blob not re-fetched")
	}
	got, _ := os.ReadFile(blob)
	if string(got) != string(hub.files["model.safetensors"]) {
		t.Error("blob still corrupt")
	}
}

func TestTokenAndErrors(t *testing.T) {
	hub := newFakeHub()
	hub.token = "secret"
	srv := httptest.NewServer(hub)
	defer srv.Close()
	c := newClient(t, srv)
	ref, _ := ParseRef("org/tiny")
	if _, err := c.Pull(context.Background(), ref, nil); err == nil || !strings.Contains(err.Error(), "HF_TOKEN") {
		t.Fatalf("want a gated error naming HF_TOKEN, got %v", err)
	}
	c.Token = "secret"
	if _, err := c.Pull(context.Background(), ref, []string{"config.json"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pull(context.Background(), Ref{Repo: "org/none", Revision: "main"}, nil); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("missing repo: %v", err)
	}
	for _, bad := range []string{"noslash", "a/b/c", "../x", "a/..@x"} {
		if _, err := ParseRef(bad); err == nil {
			t.Errorf("ParseRef(%q) accepted", bad)
		}
	}
	if _, err := c.Resolve(Ref{Repo: "org/other", Revision: "main"}); err == nil || !strings.Contains(err.Error(), "bayling pull") {
		t.Errorf("Resolve of an absent repo: %v", err)
	}
}

func TestEnv(t *testing.T) {
	t.Setenv("HF_ENDPOINT", "http://127.0.0.1:9/")
	t.Setenv("HF_TOKEN", "tok")
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HF_HOME", "/tmp/hfhome")
	c := FromEnv()
	if c.Endpoint != "http://127.0.0.1:9" || c.Token != "tok" || c.Cache != "/tmp/hfhome/hub" {
		t.Fatalf("%+v", c)
	}
}
