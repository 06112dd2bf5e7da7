package setup

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// stateFile remembers what undo needs and the client's files cannot hold:
// values setup replaced and files or folders it created. Entries are keyed
// by client, file and what was changed.
type stateFile struct {
	path    string
	entries map[string]json.RawMessage
	orig    []byte
}

const stateName = "setup-state.json"

func loadState(dir string) (*stateFile, error) {
	s := &stateFile{entries: map[string]json.RawMessage{}}
	if dir == "" {
		return s, nil
	}
	s.path = filepath.Join(dir, stateName)
	b, ok, err := readFile(s.path)
	if err != nil {
		return nil, fmt.Errorf("reading setup state: %w", err)
	}
	if ok {
		if err := json.Unmarshal(b, &s.entries); err != nil {
			return nil, fmt.Errorf("setup state %s is damaged (%v): move it away to continue", s.path, err)
		}
		s.orig = b
	}
	return s, nil
}

// get decodes the entry key into v and says whether there was one.
func (s *stateFile) get(key string, v any) bool {
	raw, ok := s.entries[key]
	if !ok {
		return false
	}
	return json.Unmarshal(raw, v) == nil
}

// put stores v under key; a nil v deletes it.
func (s *stateFile) put(key string, v any) {
	if v == nil {
		delete(s.entries, key)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are stored
	}
	s.entries[key] = b
}

func (s *stateFile) del(key string) { delete(s.entries, key) }

func (s *stateFile) save() error {
	if s.path == "" {
		return nil
	}
	var b []byte
	if len(s.entries) > 0 {
		var err error
		if b, err = json.MarshalIndent(s.entries, "", "  "); err != nil {
			return err
		}
		b = append(b, '\n')
	}
	if bytes.Equal(b, s.orig) {
		return nil
	}
	if b == nil {
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	return writeFile(s.path, b)
}
