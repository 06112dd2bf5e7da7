// Package cache keeps tokens encrypted at rest.
//
// Envelope encryption: each entry is a file of its own, sealed with
// AES-256-GCM under one 32-byte data key, and only that data key lives in the
// OS keyring (github.com/99designs/keyring, wrapped by cache/keyring). A hit is one small file read and
// one keyring read; a miss (no file) touches no keyring at all; entries are
// replaced atomically (write, fsync, rename) and never exceed keyring size
// limits (Windows caps a secret at 2560 bytes).
//
// Nothing that cannot be obtained again is deleted behind the person's back:
// a record sealed under a data key that is gone stays on disk, reads as
// ErrCorrupt (a token entry is simply replaced by the next sign-in), and is
// removed only by an explicit DeleteUnreadable.
//
// What an importer may rely on: Store's Get/Put/Delete/Names and sealed
// records, Entry's fields (a new Schema reads as ErrCorrupt, never as
// garbage), the KeyStore interface (cache/keyring's Keyring on
// 99designs/keyring; KernelKeys, the read-only kernel keyring path that
// links no keyring library), FileLocker's cross-process lock, and the side
// files' Go API (Misses, FlowBoard). The file layout on disk is not an API.
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
	"syscall"
	"time"

	"github.com/authos/authos-credential-helper/internal/atomicfile"
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
	// CheckedAt is the last time the server was asked whether the token's
	// session is alive (revalidation), answered or not; zero: never.
	CheckedAt time.Time `json:"checked_at,omitzero"`
	Subject   string    `json:"subject,omitempty"`
	Email     string    `json:"email,omitempty"`
}

var (
	// ErrMiss means there is no entry under that name.
	ErrMiss = errors.New("no cached token")
	// ErrCorrupt means an entry exists but cannot be read (damaged, another
	// schema, or sealed under a data key that is gone); it counts as a miss
	// and the next Put replaces it.
	ErrCorrupt = errors.New("cached token is unreadable")
)

// unreadableError is an ErrCorrupt with the reason a person can act on.
type unreadableError struct{ reason string }

func (e *unreadableError) Error() string        { return ErrCorrupt.Error() + ": " + e.reason }
func (e *unreadableError) Is(target error) bool { return target == ErrCorrupt }

func unreadable(format string, args ...any) error {
	return &unreadableError{reason: fmt.Sprintf(format, args...)}
}

// Reason is why an ErrCorrupt record cannot be read, for status; other
// errors are returned whole.
func Reason(err error) string {
	var u *unreadableError
	if errors.As(err, &u) {
		return u.reason
	}
	return err.Error()
}

// maxRecord bounds a sealed record file: the largest record (a 1 MiB
// protocol input) seals to well under it, so a larger file is damage.
const maxRecord = 4 << 20

// staleTemp is how old a temp file must be before a write removes it as
// left by a killed process (a live writer renames its file within ms).
const staleTemp = time.Minute

// minFree is the free space Ready asks for: an entry and its temp copy.
const minFree = 64 << 10

// KeyStore holds the data key. Load returns ErrMiss when there is none yet
// and a *DamagedKeyError when the item is there but not a key; Store reads
// both as an unreadable entry and makes a new key on the next Put.
type KeyStore interface {
	Load() ([]byte, error)
	Save(key []byte) error
	Name() string
}

// DamagedKeyError is a data key item that exists but is not a key (a crash
// while it was written, say). It counts as ErrMiss: the next Put makes a
// new key in its place.
type DamagedKeyError struct {
	Where string // the item's file, or the item and backend
	Why   string
}

func (e *DamagedKeyError) Error() string {
	return fmt.Sprintf("the token cache's data key %s is damaged (%s)", e.Where, e.Why)
}

func (e *DamagedKeyError) Is(target error) bool { return target == ErrMiss }

// Store is a directory of sealed entries.
type Store struct {
	Dir  string
	Keys KeyStore
	// AllowVolatile lets PutStatic keep credentials under a data key that a
	// reboot loses (the kernel keyring).
	AllowVolatile bool
	// Related are the helper's other folders (state, locks, file keyring)
	// whose parents CheckParents looks at with Dir's.
	Related []string
	// Warn gets one-line warnings for stderr; nil drops them.
	Warn func(msg string)
	// freeSpace reports the bytes free for dir; tests replace it.
	freeSpace func(dir string) (uint64, bool, error)
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
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return ErrMiss // ENOTDIR: a file where a folder should be; Ready names it
	}
	if err != nil {
		// Only on this error path: is it a file too large to be ours?
		if st, serr := os.Stat(path); serr == nil && st.Mode().IsRegular() && st.Size() > maxRecord {
			return unreadable("%d bytes, larger than any entry the helper writes (damaged)", st.Size())
		}
		return fmt.Errorf("reading cache entry: %w", err)
	}
	if len(raw) > maxRecord {
		return unreadable("%d bytes, larger than any entry the helper writes (damaged)", len(raw))
	}
	var box sealed
	if err := json.Unmarshal(raw, &box); err != nil || box.V != 1 {
		return unreadable("not a sealed entry (damaged)")
	}
	key, err := s.Keys.Load()
	var dk *DamagedKeyError
	switch {
	case errors.As(err, &dk):
		return unreadable("its data key is damaged")
	case errors.Is(err, ErrMiss):
		return unreadable("its data key is no longer in the %s keyring%s", s.Keys.Name(), volatileHint(s.Keys.Name()))
	case err != nil:
		return err
	}
	if box.KeyID != keyID(key) {
		return unreadable("sealed under an earlier data key, no longer in the %s keyring", s.Keys.Name())
	}
	plain, err := open(key, box.Nonce, box.Data, name)
	if err != nil {
		return unreadable("does not decrypt (damaged)")
	}
	defer clear(plain)
	if err := json.Unmarshal(plain, v); err != nil {
		return unreadable("undecodable")
	}
	return nil
}

func volatileHint(backend string) string {
	if backend == "keyctl" {
		return ", which a reboot empties"
	}
	return ""
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
	if len(out) > maxRecord {
		return fmt.Errorf("not storing %s: %d bytes sealed, more than the %d a cache entry may have", name, len(out), maxRecord)
	}
	return writeAtomic(path, out)
}

// ErrVolatile is PutStatic refusing a credential that a reboot would make
// unreadable.
var ErrVolatile = errors.New("not storing this credential: the cache key is in the kernel keyring (keyctl), which a reboot empties, and nothing could get this credential back; " +
	"use a persistent backend ([cache] backend = \"secret-service\", or \"file\" with AUTHOS_CACHE_PASSPHRASE) or set [cache] allow_volatile_store = true")

// PutStatic is PutRecord for a record that cannot be obtained again (a
// credential someone handed us, such as a registry password): it is
// refused when the data key would not survive a reboot, unless
// AllowVolatile.
func (s *Store) PutStatic(name string, v any) error {
	if !s.AllowVolatile {
		if vk, ok := s.Keys.(interface{ Volatile() (bool, error) }); ok {
			volatile, err := vk.Volatile()
			if err != nil {
				return err
			}
			if volatile {
				return ErrVolatile
			}
		}
	}
	return s.PutRecord(name, v)
}

// Unreadable lists the records with names starting with prefix that
// exist but cannot be read (ErrCorrupt), with the reason for each. Other
// errors (a keyring that cannot be opened, a wrong passphrase) stop it: a
// record is never called unreadable because its key is out of reach today.
func (s *Store) Unreadable(prefix string) (map[string]string, error) {
	names, err := s.Names(prefix)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, n := range names {
		var v json.RawMessage
		err := s.GetRecord(n, &v)
		clear(v)
		switch {
		case errors.Is(err, ErrCorrupt):
			out[n] = Reason(err)
		case err != nil && !errors.Is(err, ErrMiss):
			return nil, err
		}
	}
	return out, nil
}

// DeleteUnreadable removes the records Unreadable lists (the explicit
// step that gives up what a lost data key sealed) and returns their names
// with the reasons.
func (s *Store) DeleteUnreadable(prefix string) (map[string]string, error) {
	bad, err := s.Unreadable(prefix)
	if err != nil {
		return nil, err
	}
	for n := range bad {
		// Read again: a sign-in or store may have replaced it meanwhile.
		var v json.RawMessage
		err := s.GetRecord(n, &v)
		clear(v)
		if !errors.Is(err, ErrCorrupt) {
			delete(bad, n)
			continue
		}
		if err := s.Delete(n); err != nil {
			return nil, err
		}
	}
	return bad, nil
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

// Ready checks that a Put can succeed, so that a person is not asked to
// sign in only for the token to be thrown away: the folder can be created
// and written, has room for an entry, and the keyring holding the data key
// can be used (a damaged key counts: the Put replaces it). It also warns
// once about parents others can write to.
func (s *Store) Ready() error {
	if err := s.writable(); err != nil {
		return err
	}
	s.CheckParents()
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

// writable creates Dir if needed, writes and removes a small probe file in
// it and checks the free space.
func (s *Store) writable() error {
	fail := func(err error) error {
		return fmt.Errorf("the token cache at %s is not writable: %w", s.Dir, err)
	}
	if err := atomicfile.PrivateDir(s.Dir); err != nil {
		return fail(errors.Unwrap(err))
	}
	f, err := os.CreateTemp(s.Dir, ".tmp-ready-*")
	if err != nil {
		return fail(err)
	}
	_, werr := f.Write(make([]byte, 4096))
	cerr := f.Close()
	os.Remove(f.Name())
	if werr != nil {
		return fail(werr)
	}
	if cerr != nil {
		return fail(cerr)
	}
	space := s.freeSpace
	if space == nil {
		space = freeSpace
	}
	if free, known, err := space(s.Dir); err == nil && known && free < minFree {
		return fmt.Errorf("the token cache at %s is not writable: only %d bytes free on its file system", s.Dir, free)
	}
	return nil
}

// CheckParents warns (one line) when Dir, a Related folder or a parent of
// them may be written by other users: they could swap the helper's files.
// Sticky folders such as /tmp are fine. It costs a stat per level, so it
// runs before sign-ins and in status, never on a hit.
func (s *Store) CheckParents() {
	if s.Warn == nil {
		return
	}
	if loose := looseParents(append([]string{s.Dir}, s.Related...)); len(loose) > 0 {
		s.Warn(fmt.Sprintf("other users can write to %s, which holds the token cache or its state; they could replace its files (fix: chmod go-w on it)", strings.Join(loose, ", ")))
	}
}

// looseParents lists the existing folders among dirs and their parents
// that are group- or world-writable without the sticky bit.
func looseParents(dirs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if abs, err := filepath.Abs(d); err == nil {
			d = abs
		}
		for p := filepath.Clean(d); !seen[p]; p = filepath.Dir(p) {
			seen[p] = true
			if st, err := os.Stat(p); err == nil && st.IsDir() && st.Mode().Perm()&0o022 != 0 && st.Mode()&fs.ModeSticky == 0 {
				out = append(out, p)
			}
		}
	}
	return out
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
// time (or when it is gone or damaged). Records sealed under an earlier key
// are kept: a token entry is replaced by its next Put, and what cannot be
// obtained again waits for DeleteUnreadable.
func (s *Store) dataKey() ([]byte, error) {
	key, err := s.Keys.Load()
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, ErrMiss) {
		return nil, err
	}
	if err := atomicfile.PrivateDir(s.Dir); err != nil {
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

// writeAtomic replaces path with data: a reader sees the old or the new
// file, never a mix, and a crash leaves at most a stray temp file, which a
// later write removes.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := atomicfile.PrivateDir(dir); err != nil {
		return err
	}
	removeStaleTemps(dir, time.Now())
	if err := atomicfile.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("writing cache entry: %w", err)
	}
	return nil
}

// removeStaleTemps removes the temp files in dir that a killed writer left
// (older than staleTemp); a live writer's fresh one is left alone.
func removeStaleTemps(dir string, now time.Time) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, de := range des {
		if !strings.HasPrefix(de.Name(), ".tmp-") || !de.Type().IsRegular() {
			continue
		}
		if info, err := de.Info(); err == nil && now.Sub(info.ModTime()) > staleTemp {
			os.Remove(filepath.Join(dir, de.Name()))
		}
	}
}
