// Package hub downloads model repositories from a Hugging Face-compatible
// hub into the standard Hugging Face cache layout, so files fetched by
// Python tools are reused and ours are reused by them:
//
//	$HF_HUB_CACHE/models--ORG--NAME/blobs/<etag>            file contents
//	$HF_HUB_CACHE/models--ORG--NAME/snapshots/<commit>/<f>  symlinks to blobs
//	$HF_HUB_CACHE/models--ORG--NAME/refs/<revision>         the commit hash
//
// Downloads resume from <etag>.incomplete with HTTP Range requests and are
// verified against the ETag (sha256 for LFS files, git blob sha1 for others).
package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Client talks to one hub endpoint and writes into one cache folder.
type Client struct {
	Endpoint string // e.g. https://huggingface.co; HF_ENDPOINT
	Token    string // HF_TOKEN
	Cache    string // HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub
	HTTP     *http.Client
	// Progress, when set, is told about each file as it downloads.
	Progress func(file string, done, total int64)
}

// FromEnv makes a client configured the way huggingface_hub reads the
// environment.
func FromEnv() *Client {
	c := &Client{Endpoint: os.Getenv("HF_ENDPOINT"), Token: os.Getenv("HF_TOKEN"), Cache: CacheDir(), HTTP: http.DefaultClient}
	if c.Endpoint == "" {
		c.Endpoint = "https://huggingface.co"
	}
	c.Endpoint = strings.TrimRight(c.Endpoint, "/")
	return c
}

// CacheDir is the hub cache folder from the environment.
func CacheDir() string {
	if d := os.Getenv("HF_HUB_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("HF_HOME"); d != "" {
		return filepath.Join(d, "hub")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "."
	}
	return filepath.Join(home, ".cache", "huggingface", "hub")
}

// Ref is a repository at a revision.
type Ref struct {
	Repo     string // ORG/NAME
	Revision string // branch, tag or commit; default "main"
}

var refPattern = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]*)/([A-Za-z0-9][A-Za-z0-9._-]*)(?:@([A-Za-z0-9._/-]+))?$`)

// ParseRef parses ORG/NAME[@REV].
func ParseRef(s string) (Ref, error) {
	m := refPattern.FindStringSubmatch(s)
	if m == nil || strings.Contains(s, "..") {
		return Ref{}, fmt.Errorf("hub: %q is not ORG/NAME[@REVISION]", s)
	}
	r := Ref{Repo: m[1] + "/" + m[2], Revision: m[3]}
	if r.Revision == "" {
		r.Revision = "main"
	}
	return r, nil
}

func (r Ref) String() string { return r.Repo + "@" + r.Revision }

// repoDir is the repository's folder in the cache.
func (c *Client) repoDir(repo string) string {
	return filepath.Join(c.Cache, "models--"+strings.ReplaceAll(repo, "/", "--"))
}

// Sibling is one file of a repository.
type Sibling struct {
	Name string `json:"rfilename"`
}

type modelInfo struct {
	SHA      string    `json:"sha"`
	Siblings []Sibling `json:"siblings"`
}

func (c *Client) get(ctx context.Context, method, u string, hdr http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	req.Header.Set("User-Agent", "bayling")
	return c.HTTP.Do(req)
}

func httpError(what string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	msg := strings.TrimSpace(string(body))
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("hub: %s: %s (a gated or private repository needs HF_TOKEN): %s", what, resp.Status, msg)
	case http.StatusNotFound:
		return fmt.Errorf("hub: %s: not found: %s", what, msg)
	}
	return fmt.Errorf("hub: %s: %s: %s", what, resp.Status, msg)
}

// info asks the hub for the commit and file list of ref.
func (c *Client) info(ctx context.Context, ref Ref) (modelInfo, error) {
	u := fmt.Sprintf("%s/api/models/%s/revision/%s", c.Endpoint, ref.Repo, url.PathEscape(ref.Revision))
	resp, err := c.get(ctx, http.MethodGet, u, nil)
	if err != nil {
		return modelInfo{}, fmt.Errorf("hub: %s: %w", ref, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return modelInfo{}, httpError(ref.String(), resp)
	}
	var mi modelInfo
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&mi); err != nil {
		return modelInfo{}, fmt.Errorf("hub: %s: bad model info: %w", ref, err)
	}
	if !isCommit(mi.SHA) {
		return modelInfo{}, fmt.Errorf("hub: %s: model info has no commit sha", ref)
	}
	return mi, nil
}

func isCommit(s string) bool {
	if len(s) != 40 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// DefaultPatterns selects what a model needs: configs, tokenizer files and
// weights (safetensors, or GGUF when the repository has no safetensors).
var DefaultPatterns = []string{"*.json", "tokenizer.model", "*.safetensors", "*.gguf"}

// selectFiles applies patterns; with the defaults a repository that has
// safetensors does not also download its GGUF variants.
func selectFiles(sib []Sibling, patterns []string, defaults bool) []string {
	hasST := false
	for _, s := range sib {
		hasST = hasST || strings.HasSuffix(s.Name, ".safetensors")
	}
	var out []string
	for _, s := range sib {
		if defaults && hasST && strings.HasSuffix(s.Name, ".gguf") {
			continue
		}
		for _, p := range patterns {
			if ok, _ := path.Match(p, path.Base(s.Name)); ok {
				out = append(out, s.Name)
				break
			}
		}
	}
	return out
}

// Pull downloads ref's selected files into the cache and returns the
// snapshot folder. Files already in the cache are not downloaded again.
// patterns nil means DefaultPatterns.
func (c *Client) Pull(ctx context.Context, ref Ref, patterns []string) (string, error) {
	mi, err := c.info(ctx, ref)
	if err != nil {
		return "", err
	}
	defaults := patterns == nil
	if defaults {
		patterns = DefaultPatterns
	}
	files := selectFiles(mi.Siblings, patterns, defaults)
	if len(files) == 0 {
		return "", fmt.Errorf("hub: %s: no files match %v", ref, patterns)
	}
	snap := filepath.Join(c.repoDir(ref.Repo), "snapshots", mi.SHA)
	for _, f := range files {
		if err := c.fetch(ctx, ref.Repo, mi.SHA, f, snap); err != nil {
			return "", err
		}
	}
	if err := writeRef(filepath.Join(c.repoDir(ref.Repo), "refs", ref.Revision), mi.SHA); err != nil {
		return "", err
	}
	return snap, nil
}

func writeRef(p, sha string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(sha), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// fetch makes snap/name point at a verified blob, downloading it if needed.
func (c *Client) fetch(ctx context.Context, repo, commit, name, snap string) error {
	if !safeName(name) {
		return fmt.Errorf("hub: %s: refusing file name %q", repo, name)
	}
	link := filepath.Join(snap, filepath.FromSlash(name))
	if target, err := os.Readlink(link); err == nil {
		// In the snapshot already: check the blob instead of downloading.
		blob := filepath.Join(filepath.Dir(link), target)
		if verifyFile(blob, filepath.Base(blob)) == nil {
			return nil
		}
		os.Remove(blob) // corrupt or missing: fetch it again
		os.Remove(link)
	}
	u := fmt.Sprintf("%s/%s/resolve/%s/%s", c.Endpoint, repo, commit, escapePath(name))
	etag, size, err := c.head(ctx, u)
	if err != nil {
		return fmt.Errorf("hub: %s/%s: %w", repo, name, err)
	}
	blobs := filepath.Join(c.repoDir(repo), "blobs")
	blob := filepath.Join(blobs, etag)
	if verifyFile(blob, etag) != nil {
		os.Remove(blob)
		if err := c.download(ctx, u, blob, etag, size, name); err != nil {
			return fmt.Errorf("hub: %s/%s: %w", repo, name, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(link), blob)
	if err != nil {
		return err
	}
	return os.Symlink(rel, link)
}

func safeName(n string) bool {
	if n == "" || strings.HasPrefix(n, "/") || strings.Contains(n, "\\") {
		return false
	}
	for _, part := range strings.Split(n, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
	}
	return true
}

func escapePath(n string) string {
	parts := strings.Split(n, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// head returns the file's ETag (the linked one for LFS files, which is
// their sha256) and size, without following the redirect to storage.
func (c *Client) head(ctx context.Context, u string) (etag string, size int64, err error) {
	noRedirect := *c.HTTP
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cc := *c
	cc.HTTP = &noRedirect
	resp, err := cc.get(ctx, http.MethodHead, u, nil)
	if err != nil {
		return "", 0, err
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return "", 0, httpError("HEAD", resp)
	}
	etag = resp.Header.Get("X-Linked-Etag")
	if etag == "" {
		etag = resp.Header.Get("ETag")
	}
	etag = strings.Trim(strings.TrimPrefix(etag, "W/"), `"`)
	if !validETag(etag) {
		return "", 0, fmt.Errorf("server sent no usable ETag (%q)", etag)
	}
	sz := resp.Header.Get("X-Linked-Size")
	if sz == "" {
		sz = resp.Header.Get("Content-Length")
	}
	size, _ = strconv.ParseInt(sz, 10, 64)
	return etag, size, nil
}

// validETag accepts the two forms the hub uses: 64 hex digits (sha256 of an
// LFS file) and 40 (git blob sha1).
func validETag(e string) bool {
	if len(e) != 64 && len(e) != 40 {
		return false
	}
	_, err := hex.DecodeString(e)
	return err == nil
}

// ErrChecksum means the downloaded bytes do not match the ETag.
var ErrChecksum = errors.New("checksum mismatch")

// download fetches u into blob, resuming blob.incomplete, and verifies it.
// A corrupt result is deleted and fetched once more from the start.
func (c *Client) download(ctx context.Context, u, blob, etag string, size int64, name string) error {
	for attempt := 0; ; attempt++ {
		err := c.downloadOnce(ctx, u, blob, etag, size, name)
		if errors.Is(err, ErrChecksum) && attempt == 0 {
			continue
		}
		return err
	}
}

func (c *Client) downloadOnce(ctx context.Context, u, blob, etag string, size int64, name string) error {
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		return err
	}
	part := blob + ".incomplete"
	f, err := os.OpenFile(part, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if size > 0 && have > size {
		if err := f.Truncate(0); err != nil {
			return err
		}
		have, _ = f.Seek(0, io.SeekStart)
	}
	if size <= 0 || have < size {
		hdr := http.Header{}
		if have > 0 {
			hdr.Set("Range", fmt.Sprintf("bytes=%d-", have))
		}
		resp, err := c.get(ctx, http.MethodGet, u, hdr)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusPartialContent:
		case resp.StatusCode == http.StatusOK:
			// The server ignored the range: start over.
			if err := f.Truncate(0); err != nil {
				return err
			}
			if have, err = f.Seek(0, io.SeekStart); err != nil {
				return err
			}
		case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0:
			// Already complete; verify below.
		default:
			return httpError("GET", resp)
		}
		if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
			w := io.Writer(f)
			if c.Progress != nil {
				w = &progressWriter{w: f, name: name, done: have, total: size, report: c.Progress}
			}
			if _, err := io.Copy(w, resp.Body); err != nil {
				return fmt.Errorf("interrupted after %d bytes (rerun to resume): %w", have, err)
			}
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := verify(f, etag); err != nil {
		f.Close()
		os.Remove(part)
		return err
	}
	f.Close()
	return os.Rename(part, blob)
}

type progressWriter struct {
	w           io.Writer
	name        string
	done, total int64
	report      func(string, int64, int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	p.report(p.name, p.done, p.total)
	return n, err
}

// verify hashes f against etag: sha256 for 64-digit ETags, git's blob sha1
// ("blob <len>\0" + content) for 40-digit ones.
func verify(f *os.File, etag string) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	var h hash.Hash
	if len(etag) == 64 {
		h = sha256.New()
	} else {
		h = sha1.New()
		fmt.Fprintf(h, "blob %d\x00", st.Size())
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != etag {
		return fmt.Errorf("%w: got %s, want %s", ErrChecksum, got, etag)
	}
	return nil
}

func verifyFile(path, etag string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return verify(f, etag)
}

// Resolve finds ref in the cache without any network access and returns its
// snapshot folder.
func (c *Client) Resolve(ref Ref) (string, error) {
	commit := ref.Revision
	if !isCommit(commit) {
		b, err := os.ReadFile(filepath.Join(c.repoDir(ref.Repo), "refs", ref.Revision))
		if err != nil {
			return "", fmt.Errorf("hub: %s is not in the cache %s (run: bayling pull %s)", ref, c.Cache, ref.Repo)
		}
		commit = strings.TrimSpace(string(b))
	}
	snap := filepath.Join(c.repoDir(ref.Repo), "snapshots", commit)
	if _, err := os.Stat(snap); err != nil {
		return "", fmt.Errorf("hub: %s: snapshot %s missing from the cache", ref, commit)
	}
	return snap, nil
}
