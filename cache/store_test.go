package cache

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
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

func TestStoreNewKeyPurgesUnreadableEntries(t *testing.T) {
	keys := &memKeys{}
	s := &Store{Dir: t.TempDir(), Keys: keys}
	s.Put("a", entry("tok-a"))
	s.Put("b", entry("tok-b"))
	keys.key = nil // e.g. the kernel keyring was cleared by a reboot
	if err := s.Put("a", entry("tok-a2")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("b"); !errors.Is(err, ErrMiss) {
		t.Fatalf("entry sealed under the lost key: %v, want it purged", err)
	}
	if e, _ := s.Get("a"); e.AccessToken != "tok-a2" {
		t.Fatalf("a = %q", e.AccessToken)
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
