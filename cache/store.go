// Package cache keeps tokens encrypted at rest.
//
// Envelope encryption: each entry is a file of its own, sealed with
// AES-256-GCM under one 32-byte data key, and only that data key lives in the
// OS keyring (github.com/99designs/keyring). A hit is one small file read and
// one keyring read; a miss (no file) touches no keyring at all; entries are
// replaced atomically (write, fsync, rename) and never exceed keyring size
// limits (Windows caps a secret at 2560 bytes).
package cache

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/authos/authos-credential-helper/internal/rawfile"
)

// Schema is the version of Entry's encoding; other versions read as a miss.
const Schema = 1

// Entry is one identity's cached token.
type Entry struct {
	Schema      int       `json:"schema"`
	Server      string    `json:"server"`
	Org         string    `json:"org"`
	Service     string    `json:"service"`
	ClientID    string    `json:"client_id"`
	AccessToken string    `json:"access_token"`
	TokenType   string    `json:"token_type"`
	ExpiresAt   time.Time `json:"expires_at"`
	ObtainedAt  time.Time `json:"obtained_at"`
	Subject     string    `json:"subject,omitempty"`
	Email       string    `json:"email,omitempty"`
}

var (
	// ErrMiss means there is no entry under that name.
	ErrMiss = errors.New("no cached token")
	// ErrCorrupt means an entry exists but cannot be read (damaged, another
	// schema, or sealed under a data key that is gone); it counts as a miss
	// and the next Put replaces it.
	ErrCorrupt = errors.New("cached token is unreadable")
)

// KeyStore holds the data key. Load returns ErrMiss when there is none yet.
type KeyStore interface {
	Load() ([]byte, error)
	Save(key []byte) error
	Name() string
}

// Store is a directory of sealed entries.
type Store struct {
	Dir  string
	Keys KeyStore
}

// sealed is an entry file's format.
type sealed struct {
	V     int    `json:"v"`
	KeyID string `json:"kid"`
	Nonce []byte `json:"nonce"`
	Data  []byte `json:"data"`
}

const fileSuffix = ".entry"

// Get reads the token entry called name. It returns ErrMiss when there is
// none and an error wrapping ErrCorrupt when it cannot be read; other errors
// come from the keyring.
func (s *Store) Get(name string) (Entry, error) {
	var e Entry
	if err := s.GetRecord(name, &e); err != nil {
		return Entry{}, err
	}
	if e.Schema != Schema || e.AccessToken == "" {
		return Entry{}, fmt.Errorf("%w: unknown schema", ErrCorrupt)
	}
	return e, nil
}

// Put seals e and atomically replaces the entry called name.
func (s *Store) Put(name string, e Entry) error {
	e.Schema = Schema
	return s.PutRecord(name, e)
}

// GetRecord opens the sealed record called name into v (JSON).
func (s *Store) GetRecord(name string, v any) error {
	path, err := s.path(name)
	if err != nil {
		return err
	}
	raw, err := rawfile.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return ErrMiss
	}
	if err != nil {
		return fmt.Errorf("reading cache entry: %w", err)
	}
	var box sealed
	if err := json.Unmarshal(raw, &box); err != nil || box.V != 1 {
		return fmt.Errorf("%w: not a sealed entry", ErrCorrupt)
	}
	key, err := s.Keys.Load()
	if errors.Is(err, ErrMiss) {
		return fmt.Errorf("%w: its data key is no longer in the %s keyring", ErrCorrupt, s.Keys.Name())
	}
	if err != nil {
		return err
	}
	if box.KeyID != keyID(key) {
		return fmt.Errorf("%w: sealed under another data key", ErrCorrupt)
	}
	plain, err := open(key, box.Nonce, box.Data, name)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	defer clear(plain)
	if err := json.Unmarshal(plain, v); err != nil {
		return fmt.Errorf("%w: undecodable", ErrCorrupt)
	}
	return nil
}

// PutRecord seals v (as JSON) and atomically replaces the record called name.
func (s *Store) PutRecord(name string, v any) error {
	path, err := s.path(name)
	if err != nil {
		return err
	}
	key, err := s.dataKey()
	if err != nil {
		return err
	}
	plain, err := json.Marshal(v)
	if err != nil {
		return err
	}
	nonce, data, err := seal(key, plain, name)
	clear(plain)
	if err != nil {
		return err
	}
	out, err := json.Marshal(sealed{V: 1, KeyID: keyID(key), Nonce: nonce, Data: data})
	if err != nil {
		return err
	}
	return writeAtomic(path, out)
}

// Has reports whether a record called name exists, without reading it or
// touching the keyring.
func (s *Store) Has(name string) bool {
	path, err := s.path(name)
	if err != nil {
		return false
	}
	_, err = os.Stat(path)
	return err == nil
}

// Ready checks that the keyring holding the data key can be used, so that a
// login is not started only to fail at storing its token.
func (s *Store) Ready() error {
	if r, ok := s.Keys.(interface{ Ready() error }); ok {
		if err := r.Ready(); err != nil {
			return err
		}
	}
	if _, err := s.Keys.Load(); err != nil && !errors.Is(err, ErrMiss) {
		return err
	}
	return nil
}

// Delete removes the entry called name; a missing entry is not an error.
func (s *Store) Delete(name string) error {
	path, err := s.path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting cache entry: %w", err)
	}
	return nil
}

// Names lists the records present whose names start with prefix, readable
// or not.
func (s *Store) Names(prefix string) ([]string, error) {
	des, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing cache: %w", err)
	}
	var names []string
	for _, de := range des {
		if n, ok := strings.CutSuffix(de.Name(), fileSuffix); ok && validName(n) && strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	return names, nil
}

// dataKey loads the data key, creating it under a store-wide lock the first
// time. A new key makes every existing entry unreadable, so they are removed.
func (s *Store) dataKey() ([]byte, error) {
	key, err := s.Keys.Load()
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, ErrMiss) {
		return nil, err
	}
	if err := ensureDir(s.Dir); err != nil {
		return nil, err
	}
	unlock, err := LockFile(filepath.Join(s.Dir, ".key.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if key, err := s.Keys.Load(); err == nil {
		return key, nil // another process made it while we waited
	} else if !errors.Is(err, ErrMiss) {
		return nil, err
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := s.Keys.Save(key); err != nil {
		return nil, fmt.Errorf("saving the cache key in the %s keyring: %w", s.Keys.Name(), err)
	}
	names, _ := s.Names("")
	for _, n := range names {
		s.Delete(n)
	}
	return key, nil
}

func (s *Store) path(name string) (string, error) {
	if !validName(name) {
		return "", fmt.Errorf("invalid cache entry name %q", name)
	}
	return filepath.Join(s.Dir, name+fileSuffix), nil
}

// validName keeps names to file-name-safe characters (no separators, no dots).
func validName(n string) bool {
	if n == "" || len(n) > 128 {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func keyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// The entry name is the additional data, so entries cannot be swapped.
func seal(key, plain []byte, name string) (nonce, data []byte, err error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, nil, err
	}
	nonce = make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, err
	}
	return nonce, aead.Seal(nil, nonce, plain, []byte(name)), nil
}

func open(key, nonce, data []byte, name string) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	if len(nonce) != aead.NonceSize() {
		return nil, errors.New("bad nonce")
	}
	return aead.Open(nil, nonce, data, []byte(name))
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, errors.New("data key is not 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// ensureDir makes dir (and parents) private to the user.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	// MkdirAll leaves an existing directory's mode alone; tighten it.
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("securing %s: %w", dir, err)
	}
	return nil
}

// writeAtomic replaces path with data: a reader sees the old or the new
// file, never a mix, and a crash leaves at most a stray temp file.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := ensureDir(dir); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("writing cache entry: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing cache entry: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("writing cache entry: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing cache entry: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing cache entry: %w", err)
	}
	syncDir(dir)
	return nil
}
