package cache

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type memKeys struct{ key []byte }

func (m *memKeys) Load() ([]byte, error) {
	if m.key == nil {
		return nil, ErrMiss
	}
	return m.key, nil
}
func (m *memKeys) Save(k []byte) error { m.key = append([]byte(nil), k...); return nil }
func (m *memKeys) Name() string        { return "memory" }

func entry(token string) Entry {
	return Entry{Server: "https://sso.example", Org: "acme", Service: "cli", ClientID: "acme-cli",
		AccessToken: token, TokenType: "Bearer", ExpiresAt: time.Unix(2000000000, 0).UTC(), ObtainedAt: time.Unix(1900000000, 0).UTC(), Email: "a@example"}
}

func TestStoreRoundTripAndSecrecy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tokens")
	s := &Store{Dir: dir, Keys: &memKeys{}}
	if _, err := s.Get("id1"); !errors.Is(err, ErrMiss) {
		t.Fatalf("empty Get = %v, want ErrMiss", err)
	}
	const secret = "eyJhbGciOiJSUzI1NiJ9.secret-payload.signature"
	if err := s.Put("id1", entry(secret)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get("id1")
	if err != nil || got.AccessToken != secret || got.Email != "a@example" || got.Schema != Schema {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "id1"+fileSuffix))
	if bytes.Contains(raw, []byte(secret)) || bytes.Contains(raw, []byte("secret-payload")) {
		t.Fatal("token in plaintext on disk")
	}
	st, _ := os.Stat(dir)
	if st.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", st.Mode().Perm())
	}
	fst, _ := os.Stat(filepath.Join(dir, "id1"+fileSuffix))
	if fst.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fst.Mode().Perm())
	}
	names, _ := s.Names("")
	if len(names) != 1 || names[0] != "id1" {
		t.Errorf("Names = %v", names)
	}
	if err := s.Delete("id1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("id1"); !errors.Is(err, ErrMiss) {
		t.Fatalf("after Delete: %v", err)
	}
}

func TestStoreCorruptEntriesAreMisses(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, s *Store, path string)
	}{
		{"garbage", func(t *testing.T, s *Store, p string) { os.WriteFile(p, []byte("\x00garbage"), 0o600) }},
		{"truncated", func(t *testing.T, s *Store, p string) {
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o600)
		}},
		{"flipped ciphertext", func(t *testing.T, s *Store, p string) {
			b, _ := os.ReadFile(p)
			i := bytes.Index(b, []byte(`"data":"`)) + 10
			b[i] ^= 1
			os.WriteFile(p, b, 0o600)
		}},
		{"swapped between identities", func(t *testing.T, s *Store, p string) {
			s.Put("other", entry("tok-other"))
			b, _ := os.ReadFile(filepath.Join(s.Dir, "other"+fileSuffix))
			os.WriteFile(p, b, 0o600)
		}},
		{"data key lost", func(t *testing.T, s *Store, p string) { s.Keys.(*memKeys).key = nil }},
		{"data key replaced", func(t *testing.T, s *Store, p string) { s.Keys.(*memKeys).key = bytes.Repeat([]byte{7}, 32) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &Store{Dir: t.TempDir(), Keys: &memKeys{}}
			if err := s.Put("id1", entry("tok-1")); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, s, filepath.Join(s.Dir, "id1"+fileSuffix))
			if _, err := s.Get("id1"); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Get = %v, want ErrCorrupt", err)
			}
			// The next Put repairs it.
			if err := s.Put("id1", entry("tok-2")); err != nil {
				t.Fatal(err)
			}
			if e, err := s.Get("id1"); err != nil || e.AccessToken != "tok-2" {
				t.Fatalf("after repair: %+v, %v", e, err)
			}
		})
	}
}

// TestStoreNewKeyKeepsUnreadableRecords: when the data key is lost (a
// reboot cleared the kernel keyring) the next Put makes a new key, and what
// was sealed under the old one stays on disk, listed as unreadable with the
// reason, until DeleteUnreadable removes exactly those records.
func TestStoreNewKeyKeepsUnreadableRecords(t *testing.T) {
	keys := &memKeys{}
	s := &Store{Dir: t.TempDir(), Keys: keys}
	s.Put("id-a", entry("tok-a"))
	s.Put("id-b", entry("tok-b"))
	s.PutRecord("docker-x", map[string]string{"Secret": "pat"})
	keys.key = nil
	if bad, err := s.Unreadable(""); err != nil || len(bad) != 3 || !strings.Contains(bad["docker-x"], "no longer in the memory keyring") {
		t.Fatalf("with the key gone, Unreadable = %v, %v", bad, err)
	}
	if err := s.Put("id-a", entry("tok-a2")); err != nil {
		t.Fatal(err)
	}
	var v map[string]string
	if err := s.GetRecord("docker-x", &v); !errors.Is(err, ErrCorrupt) || !strings.Contains(Reason(err), "earlier data key") {
		t.Fatalf("record sealed under the lost key: %v, want it kept and unreadable", err)
	}
	if e, _ := s.Get("id-a"); e.AccessToken != "tok-a2" {
		t.Fatalf("id-a = %q", e.AccessToken)
	}
	bad, err := s.Unreadable("")
	if err != nil || len(bad) != 2 || bad["docker-x"] == "" || bad["id-b"] == "" {
		t.Fatalf("Unreadable = %v, %v; want docker-x and id-b", bad, err)
	}
	if _, err := s.DeleteUnreadable(""); err != nil {
		t.Fatal(err)
	}
	if names, _ := s.Names(""); len(names) != 1 || names[0] != "id-a" {
		t.Fatalf("after DeleteUnreadable: %v, want only the readable id-a", names)
	}
}

// TestStoreUnreadableNeverGuesses: a keyring that cannot be used today
// (wrong passphrase, locked) is an error, not a reason to call records
// unreadable and delete them.
func TestStoreUnreadableNeverGuesses(t *testing.T) {
	keys := &memKeys{}
	s := &Store{Dir: t.TempDir(), Keys: keys}
	s.PutRecord("docker-x", map[string]string{"Secret": "pat"})
	locked := &failingKeys{err: errors.New("wrong passphrase for the file keyring at /x")}
	s.Keys = locked
	if bad, err := s.DeleteUnreadable(""); err == nil || len(bad) != 0 {
		t.Fatalf("DeleteUnreadable with a locked keyring = %v, %v; want an error", bad, err)
	}
	if !s.Has("docker-x") {
		t.Fatal("a record was deleted because its keyring was locked")
	}
}

type failingKeys struct{ err error }

func (f *failingKeys) Load() ([]byte, error) { return nil, f.err }
func (f *failingKeys) Save([]byte) error     { return f.err }
func (f *failingKeys) Name() string          { return "failing" }

// TestStoreOversizedEntryIsCorrupt: a file too large to be an entry (even
// one past what rawfile reads at all) is a corrupt entry, replaced by Put.
func TestStoreOversizedEntryIsCorrupt(t *testing.T) {
	for _, size := range []int64{maxRecord + 1, 17 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			s := &Store{Dir: t.TempDir(), Keys: &memKeys{}}
			if err := s.Put("id1", entry("tok-1")); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(filepath.Join(s.Dir, "id1"+fileSuffix), size); err != nil { // sparse
				t.Fatal(err)
			}
			if _, err := s.Get("id1"); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Get = %v, want ErrCorrupt", err)
			}
			if err := s.Put("id1", entry("tok-2")); err != nil {
				t.Fatal(err)
			}
			if e, err := s.Get("id1"); err != nil || e.AccessToken != "tok-2" {
				t.Fatalf("after Put: %+v, %v", e, err)
			}
		})
	}
	s := &Store{Dir: t.TempDir(), Keys: &memKeys{}}
	if err := s.PutRecord("big", strings.Repeat("x", maxRecord)); err == nil {
		t.Fatal("PutRecord wrote a record it could not read back")
	}
}

// TestStoreRemovesStaleTemps: temp files a killed writer left are removed
// by the next write, not by reads, and a fresh one (a live writer's) stays.
func TestStoreRemovesStaleTemps(t *testing.T) {
	s := &Store{Dir: t.TempDir(), Keys: &memKeys{}}
	if err := s.Put("id1", entry("tok-1")); err != nil {
		t.Fatal(err)
	}
	stale, fresh := filepath.Join(s.Dir, ".tmp-123"), filepath.Join(s.Dir, ".tmp-456")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * staleTemp)
	os.Chtimes(stale, old, old)
	if _, err := s.Get("id1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); err != nil {
		t.Fatal("a read removed a temp file; only writes clean up")
	}
	if err := s.Put("id2", entry("tok-2")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temp file survived a write: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a fresh temp file (a writer at work) was removed: %v", err)
	}
}

// volatileKeys is memKeys that says it does not survive a reboot.
type volatileKeys struct {
	memKeys
	volatile bool
}

func (v *volatileKeys) Volatile() (bool, error) { return v.volatile, nil }

func TestStorePutStaticRefusesVolatileKeys(t *testing.T) {
	tests := []struct {
		name          string
		volatile      bool
		allowVolatile bool
		wantErr       bool
	}{
		{"persistent backend", false, false, false},
		{"kernel keyring", true, false, true},
		{"kernel keyring, allowed by the setting", true, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &Store{Dir: t.TempDir(), Keys: &volatileKeys{volatile: tc.volatile}, AllowVolatile: tc.allowVolatile}
			err := s.PutStatic("docker-x", map[string]string{"Secret": "pat"})
			if tc.wantErr {
				if !errors.Is(err, ErrVolatile) {
					t.Fatalf("PutStatic = %v, want ErrVolatile", err)
				}
				for _, want := range []string{"secret-service", "AUTHOS_CACHE_PASSPHRASE", "allow_volatile_store"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("message %q does not name %s", err, want)
					}
				}
				if s.Has("docker-x") {
					t.Error("the refused record was written")
				}
				return
			}
			if err != nil || !s.Has("docker-x") {
				t.Fatalf("PutStatic = %v", err)
			}
		})
	}
}

type readyKeys struct {
	memKeys
	readyErr, loadErr error
}

func (r *readyKeys) Ready() error { return r.readyErr }
func (r *readyKeys) Load() ([]byte, error) {
	if r.loadErr != nil {
		return nil, r.loadErr
	}
	return r.memKeys.Load()
}

func TestStoreReady(t *testing.T) {
	base := t.TempDir()
	notDir := filepath.Join(base, "file")
	os.WriteFile(notDir, nil, 0o600)
	plenty := func(string) (uint64, bool, error) { return 1 << 30, true, nil }
	full := func(string) (uint64, bool, error) { return 1000, true, nil }
	tests := []struct {
		name    string
		dir     string
		keys    KeyStore
		space   func(string) (uint64, bool, error)
		wantErr string // "" for none
	}{
		{"fine, folder made", filepath.Join(base, "a", "tokens"), &readyKeys{}, plenty, ""},
		{"parent is a file", filepath.Join(notDir, "tokens"), &readyKeys{}, plenty, "the token cache at " + filepath.Join(notDir, "tokens") + " is not writable"},
		{"disk full", filepath.Join(base, "b"), &readyKeys{}, full, "the token cache at " + filepath.Join(base, "b") + " is not writable: only 1000 bytes free"},
		{"keyring not usable", filepath.Join(base, "c"), &readyKeys{readyErr: errors.New("no usable keyring")}, plenty, "no usable keyring"},
		{"keyring read fails", filepath.Join(base, "d"), &readyKeys{loadErr: errors.New("wrong passphrase")}, plenty, "wrong passphrase"},
		{"damaged key: the Put replaces it", filepath.Join(base, "e"), &readyKeys{loadErr: &DamagedKeyError{Where: "/k", Why: "empty file"}}, plenty, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &Store{Dir: tc.dir, Keys: tc.keys, freeSpace: tc.space}
			err := s.Ready()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Ready = %v", err)
				}
				if left, _ := filepath.Glob(filepath.Join(tc.dir, ".tmp-*")); len(left) != 0 {
					t.Fatalf("the probe left %v", left)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Ready = %v, want %q", err, tc.wantErr)
			}
		})
	}
	// The real free-space check answers for a real folder.
	if free, known, err := freeSpace(base); err != nil || (known && free == 0) {
		t.Fatalf("freeSpace = %d, %v, %v", free, known, err)
	}
}

// TestStoreFoldersPrivate: every folder the store creates, parents
// included, is 0700.
func TestStoreFoldersPrivate(t *testing.T) {
	base := t.TempDir()
	s := &Store{Dir: filepath.Join(base, "x", "y", "tokens"), Keys: &memKeys{}}
	if err := s.Put("id1", entry("t")); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"x", "x/y", "x/y/tokens"} {
		if st, err := os.Stat(filepath.Join(base, d)); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v, want 0700", d, st.Mode().Perm(), err)
		}
	}
}

// TestCheckParents: a group- or world-writable folder above the cache or
// its state is reported in one line; sticky ones (/tmp) and private ones
// are not.
func TestCheckParents(t *testing.T) {
	tests := []struct {
		name string
		mode fs.FileMode
		want bool
	}{
		{"private", 0o700, false},
		{"world-readable", 0o755, false},
		{"group-writable", 0o770, true},
		{"world-writable", 0o777, true},
		{"sticky like /tmp", 0o777 | fs.ModeSticky, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent := filepath.Join(t.TempDir(), "home")
			state := filepath.Join(t.TempDir(), "state")
			os.Mkdir(parent, 0o700)
			if err := os.Chmod(parent, tc.mode); err != nil {
				t.Fatal(err)
			}
			var warnings []string
			s := &Store{Dir: filepath.Join(parent, "cache", "tokens"), Keys: &memKeys{}, Related: []string{state, ""},
				Warn: func(m string) { warnings = append(warnings, m) }, freeSpace: func(string) (uint64, bool, error) { return 1 << 30, true, nil }}
			if err := s.Ready(); err != nil {
				t.Fatal(err)
			}
			if got := len(warnings) == 1 && strings.Contains(warnings[0], parent) && !strings.Contains(warnings[0], "\n"); got != tc.want || len(warnings) > 1 {
				t.Fatalf("warnings = %q, want one naming %s: %v", warnings, parent, tc.want)
			}
		})
	}
}

func TestStoreRejectsBadNames(t *testing.T) {
	s := &Store{Dir: t.TempDir(), Keys: &memKeys{}}
	for _, n := range []string{"", "../x", "a/b", "A", "x.entry", string(make([]byte, 200))} {
		if err := s.Put(n, entry("t")); err == nil {
			t.Errorf("Put(%q) accepted", n)
		}
	}
}

func TestTryLockFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "locks", "x.lock")
	unlock, ok, err := TryLockFile(p)
	if err != nil || !ok {
		t.Fatalf("first lock: %v %v", ok, err)
	}
	// flock locks belong to the open file description, so a second open in
	// the same process conflicts just as another process would.
	if _, ok2, err := TryLockFile(p); ok2 || err != nil {
		t.Fatalf("second lock: ok=%v err=%v, want busy", ok2, err)
	}
	unlock()
	u3, ok3, err := TryLockFile(p)
	if !ok3 || err != nil {
		t.Fatalf("after unlock: %v %v", ok3, err)
	}
	u3()
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("lock file mode %v", st.Mode().Perm())
	}
}

// CheckedAt (revalidation) is kept across a Put, and an entry written
// before it existed (no checked_at) still reads, as never checked.
func TestStoreCheckedAt(t *testing.T) {
	s := &Store{Dir: filepath.Join(t.TempDir(), "tokens"), Keys: &memKeys{}}
	e := entry("a.b.c")
	if err := s.PutRecord("old", map[string]any{"schema": Schema, "access_token": "a.b.c", "obtained_at": e.ObtainedAt}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get("old"); err != nil || !got.CheckedAt.IsZero() || !got.ObtainedAt.Equal(e.ObtainedAt) {
		t.Fatalf("an entry without checked_at: %+v, %v", got, err)
	}
	e.CheckedAt = time.Unix(1950000000, 0).UTC()
	if err := s.Put("new", e); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get("new"); err != nil || !got.CheckedAt.Equal(e.CheckedAt) {
		t.Fatalf("CheckedAt after a round trip: %+v, %v", got, err)
	}
}
