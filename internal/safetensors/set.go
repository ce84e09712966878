package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bayling-go/bayling/internal/atomicfile"
	"github.com/bayling-go/bayling/internal/tensor"
)

// WriteFile writes a safetensors file atomically (temp file in the same
// directory, synced, renamed); see Encode for the layout.
func WriteFile(path string, metadata map[string]string, entries []Entry, data func(i int, out io.Writer) error) error {
	err := atomicfile.Write(path, func(out io.Writer) error {
		return Encode(out, metadata, entries, data)
	})
	if err != nil {
		return fmt.Errorf("safetensors %s: %w", path, err)
	}
	return nil
}

// Index and single-file names used by Hugging Face checkpoints.
const (
	IndexName  = "model.safetensors.index.json"
	SingleName = "model.safetensors"
)

// Set is the tensors of one checkpoint, possibly sharded over several files.
type Set struct {
	Dir   string
	Files []*File // shards in the order first referenced
	names []string
	where map[string]*File
}

// OpenDir opens a checkpoint directory: the shards listed by
// model.safetensors.index.json if present, else model.safetensors.
func OpenDir(dir string) (*Set, error) {
	if _, err := os.Stat(filepath.Join(dir, IndexName)); err == nil {
		return OpenIndex(dir)
	}
	p := filepath.Join(dir, SingleName)
	f, err := Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("safetensors %s: neither %s nor %s found", dir, IndexName, SingleName)
		}
		return nil, err
	}
	s := &Set{Dir: dir, Files: []*File{f}, where: map[string]*File{}}
	for _, ti := range f.Tensors {
		s.names = append(s.names, ti.Name)
		s.where[ti.Name] = f
	}
	return s, nil
}

// OpenIndex opens the shards named by dir/model.safetensors.index.json. Every
// tensor in weight_map must exist in the shard it names.
func OpenIndex(dir string) (*Set, error) {
	ip := filepath.Join(dir, IndexName)
	b, err := os.ReadFile(ip)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("safetensors %s: %w", ip, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("safetensors %s: empty or missing weight_map", ip)
	}
	s := &Set{Dir: dir, where: map[string]*File{}}
	shards := map[string]*File{}
	// Open shards in sorted order so errors and Files are deterministic.
	var shardNames []string
	for _, sh := range idx.WeightMap {
		if _, ok := shards[sh]; !ok {
			shards[sh] = nil
			shardNames = append(shardNames, sh)
		}
	}
	slices.Sort(shardNames)
	for _, sh := range shardNames {
		if sh == "" || filepath.IsAbs(sh) || strings.Contains(sh, "..") || strings.ContainsRune(sh, filepath.Separator) {
			s.Close()
			return nil, fmt.Errorf("safetensors %s: shard name %q must be a file in the same directory", ip, sh)
		}
		f, err := Open(filepath.Join(dir, sh))
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("safetensors %s: shard %s: %w", ip, sh, err)
		}
		shards[sh] = f
		s.Files = append(s.Files, f)
	}
	for name, sh := range idx.WeightMap {
		f := shards[sh]
		if _, ok := f.Info(name); !ok {
			s.Close()
			return nil, fmt.Errorf("safetensors %s: tensor %q is mapped to %s, which does not contain it", ip, name, sh)
		}
		s.where[name] = f
	}
	for _, f := range s.Files { // names in shard, then offset, order
		for _, ti := range f.Tensors {
			if s.where[ti.Name] == f {
				s.names = append(s.names, ti.Name)
			}
		}
	}
	return s, nil
}

// Names lists all tensor names, shard by shard in offset order.
func (s *Set) Names() []string { return s.names }

// Info describes the named tensor.
func (s *Set) Info(name string) (TensorInfo, bool) {
	f, ok := s.where[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Info(name)
}

// Tensor returns the named tensor from whichever shard holds it.
func (s *Set) Tensor(name string) (tensor.Tensor, error) {
	f, ok := s.where[name]
	if !ok {
		return tensor.Tensor{}, fmt.Errorf("safetensors %s: tensor %q: %w", s.Dir, name, ErrNotFound)
	}
	return f.Tensor(name)
}

// Raw returns a tensor's description and bytes, for any dtype.
func (s *Set) Raw(name string) (TensorInfo, []byte, error) {
	f, ok := s.where[name]
	if !ok {
		return TensorInfo{}, nil, fmt.Errorf("safetensors %s: tensor %q: %w", s.Dir, name, ErrNotFound)
	}
	return f.Raw(name)
}

// Close unmaps every shard.
func (s *Set) Close() error {
	var errs []error
	for _, f := range s.Files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}
