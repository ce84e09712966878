package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
)

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// openText opens a plain, gzip or zstd file, sniffed by magic bytes rather
// than by name. zstd is decoded by the system zstd program (streamed through a
// pipe) so the binary needs no zstd dependency; its absence is a clear error.
func openText(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(f, 1<<16)
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: gzip: %w", path, err)
		}
		return &stack{Reader: zr, closers: []io.Closer{zr, f}}, nil
	case bytes.HasPrefix(head, zstdMagic):
		zstd, err := exec.LookPath("zstd")
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: zstd-compressed input needs the zstd program on PATH (apt-get install zstd)", path)
		}
		cmd := exec.Command(zstd, "-dcq")
		cmd.Stdin = br
		out, err := cmd.StdoutPipe()
		if err != nil {
			f.Close()
			return nil, err
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: zstd: %w", path, err)
		}
		return &zstdReader{Reader: out, cmd: cmd, f: f, path: path, stderr: &stderr}, nil
	}
	return &stack{Reader: br, closers: []io.Closer{f}}, nil
}

type stack struct {
	io.Reader
	closers []io.Closer
}

func (s *stack) Close() error {
	var first error
	for _, c := range s.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

type zstdReader struct {
	io.Reader
	cmd    *exec.Cmd
	f      *os.File
	path   string
	stderr *bytes.Buffer
	done   bool
}

// Read reports a decoder failure at EOF instead of a silently short stream.
func (z *zstdReader) Read(p []byte) (int, error) {
	n, err := z.Reader.Read(p)
	if err == io.EOF && !z.done {
		z.done = true
		if werr := z.cmd.Wait(); werr != nil {
			return n, fmt.Errorf("%s: zstd: %v: %s", z.path, werr, bytes.TrimSpace(z.stderr.Bytes()))
		}
	}
	return n, err
}

func (z *zstdReader) Close() error {
	if !z.done {
		z.done = true
		z.cmd.Process.Kill()
		z.cmd.Wait()
	}
	return z.f.Close()
}

// lineReader yields lines with their 1-based numbers, without the newline,
// and refuses lines longer than maxLine instead of growing without bound.
type lineReader struct {
	path string
	rc   io.ReadCloser
	sc   *bufio.Scanner
	num  int
}

const maxLine = 16 << 20

func openLines(path string) (*lineReader, error) {
	rc, err := openText(path)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 0, 1<<16), maxLine)
	return &lineReader{path: path, rc: rc, sc: sc}, nil
}

// next returns the next line; ok is false at the end or on error (see err).
func (l *lineReader) next() (line string, ok bool) {
	if !l.sc.Scan() {
		return "", false
	}
	l.num++
	b := l.sc.Bytes()
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	return string(b), true
}

func (l *lineReader) err() error {
	if err := l.sc.Err(); err != nil {
		return fmt.Errorf("%s:%d: %w", l.path, l.num+1, err)
	}
	return nil
}

func (l *lineReader) where() string { return fmt.Sprintf("%s:%d", l.path, l.num) }

func (l *lineReader) Close() error { return l.rc.Close() }
