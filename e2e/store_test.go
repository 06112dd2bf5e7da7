package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The store under crashes, reboots and damage: nothing bricks the helper,
// nothing that cannot be obtained again is deleted without being asked.

// dataKeyItem is the data key's item name (cache-key-<hash of the tokens
// folder>), as the binary derives it.
func dataKeyItem(s *sandbox) string {
	sum := sha256.Sum256([]byte(s.tokensDir()))
	return "cache-key-" + hex.EncodeToString(sum[:8])
}

// fileKeyPath is the file backend's data key file.
func fileKeyPath(s *sandbox) string {
	return filepath.Join(s.env["XDG_DATA_HOME"], "authos-credential-helper", "keyring", dataKeyItem(s))
}

// kernelKeys reports whether the sandbox's data key (keyctl backend) and its
// kernel cache copy are in the user's kernel keyring (the names
// forgetKernelKeys removes).
func kernelKeys(s *sandbox) (dataKey, kernelCopy bool) {
	if ring, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "keyring", "authos-credential-helper", 0); err == nil {
		_, err := unix.KeyctlSearch(ring, "user", dataKeyItem(s), 0)
		dataKey = err == nil
	}
	_, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "user", "authos-credential-helper:"+dataKeyItem(s), 0)
	return dataKey, err == nil
}

// signIn runs args (a command that signs in), approves the n-th device code
// and returns stdout and stderr.
func signIn(t *testing.T, s *sandbox, d *devServer, n int, args ...string) (stdout, stderr string) {
	t.Helper()
	p := s.start(t, args...)
	c := d.waitPendingCode(t, n)
	d.control(t, "approve", c.UserCode, "alice@acme.example")
	if code := p.wait(t); code != 0 {
		t.Fatalf("%v exited %d: %s", args, code, p.stderr.String())
	}
	return p.stdout.String(), p.stderr.String()
}

// linesWith counts the lines of text containing sub.
func linesWith(text, sub string) int {
	n := 0
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

func fileBackendSandbox(t *testing.T, d *devServer) *sandbox {
	s := newSandbox(t, d.URL)
	s.env["AUTHOS_CACHE_BACKEND"] = "file"
	s.env["AUTHOS_CACHE_PASSPHRASE"] = "correct horse"
	// No kernel copy: every process reads the key file, as after 12 h.
	s.writeConfig(t, "[cache]\nkernel_cache = \"0s\"\n")
	return s
}

// TestStoreDamagedFileKeyRecovers: a data key file left empty or cut short
// (kill -9 while keyring's file backend wrote it) is reported in one line
// naming the file, and the sign-in that follows replaces it; from then on
// hits are silent.
func TestStoreDamagedFileKeyRecovers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		damage func(b []byte) []byte
	}{
		{"empty", func([]byte) []byte { return nil }},
		{"cut short", func(b []byte) []byte { return b[:len(b)*2/3] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := startDevServer(t)
			s := fileBackendSandbox(t, d)
			s.login(t, d, 1, "alice@acme.example")
			key := fileKeyPath(s)
			b, err := os.ReadFile(key)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(key, tc.damage(b), 0o600); err != nil {
				t.Fatal(err)
			}
			out, errOut := signIn(t, s, d, 2, "token")
			tok := strings.TrimSpace(out)
			// One line names the file; the sign-in's own notice may add why
			// it signs in again, without the path.
			if tok == "" || linesWith(errOut, key) != 1 || !strings.Contains(errOut, key+" is damaged") {
				t.Fatalf("want one line naming %s as damaged; stderr:\n%s", key, errOut)
			}
			if b, _ := os.ReadFile(key); len(b) < 100 {
				t.Fatalf("the key file was not replaced (%d bytes)", len(b))
			}
			out, errOut, code := s.run(t, "token")
			if code != 0 || strings.TrimSpace(out) != tok || errOut != "" {
				t.Fatalf("hit after recovery: %d %q", code, errOut)
			}
			if n := d.codes(t).DeviceCodeRequests; n != 2 {
				t.Fatalf("%d device flows, want 2", n)
			}
		})
	}
}

// TestStoreWrongPassphraseNamed: a wrong passphrase is called that, with
// the key file's path, in one line, before any sign-in, and the file is
// left alone.
func TestStoreWrongPassphraseNamed(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := fileBackendSandbox(t, d)
	s.login(t, d, 1, "alice@acme.example")
	key := fileKeyPath(s)
	before, _ := os.ReadFile(key)
	s.env["AUTHOS_CACHE_PASSPHRASE"] = "battery staple"
	for _, args := range [][]string{{"token"}, {"login"}} {
		out, errOut, code := s.run(t, args...)
		want := "wrong passphrase for the file keyring at " + key
		if code != 1 || out != "" || !strings.Contains(errOut, want) || strings.Contains(errOut, "KeyUnwrap") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Fatalf("%v: %d %q; want one line %q", args, code, errOut, want)
		}
	}
	if after, _ := os.ReadFile(key); string(after) != string(before) {
		t.Fatal("the key file changed after a wrong passphrase")
	}
	if n := d.codes(t).DeviceCodeRequests; n != 1 {
		t.Fatalf("%d device flows: a wrong passphrase must not start a sign-in", n)
	}
}

// staticStore stores a credential for a host no profile serves, the way
// `docker login` / `terraform login` hand one over, and getStatic reads it.
type staticKind struct {
	name, link string
	store, get []string
	input      string
	secret     string
}

var staticKinds = []staticKind{
	{"docker", "docker-credential-authos", []string{"store"}, []string{"get"},
		`{"ServerURL":"https://index.docker.io/v1/","Username":"bob","Secret":"dckr_pat_MARKER"}`, "dckr_pat_MARKER"},
	{"terraform", "terraform-credentials-authos", []string{"store", "app.terraform.io"}, []string{"get", "app.terraform.io"},
		`{"token":"tfc-MARKER"}`, "tfc-MARKER"},
}

func (k staticKind) getInput() string {
	if k.name == "docker" {
		return "https://index.docker.io/v1/"
	}
	return ""
}

func storeLinks(t *testing.T) string {
	return helperLinks(t, "docker-credential-authos", "terraform-credentials-authos")
}

func records(t *testing.T, s *sandbox, prefix string) []string {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(s.tokensDir(), prefix+"*.entry"))
	return names
}

// TestStoreStaticNeedsPersistentBackend: a credential nothing can obtain
// again is not stored under a data key a reboot loses (keyctl), with a
// message naming persistent backends and the setting; the setting, or a
// persistent backend, lets it through.
func TestStoreStaticNeedsPersistentBackend(t *testing.T) {
	t.Parallel()
	links := storeLinks(t)
	for _, k := range staticKinds {
		for _, tc := range []struct {
			name, backend, config string
			refused               bool
		}{
			{"keyctl", "keyctl", "", true},
			{"auto (keyctl here)", "", "", true},
			{"keyctl, allowed", "keyctl", "[cache]\nallow_volatile_store = true\n", false},
			{"file", "file", "", false},
		} {
			t.Run(k.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				s := newSandbox(t, "")
				s.env["AUTHOS_CACHE_BACKEND"], s.env["AUTHOS_CACHE_PASSPHRASE"] = tc.backend, "pw"
				if tc.config != "" {
					s.writeConfig(t, tc.config)
				}
				out, errOut, code := runWithStdin(t, s, links, k.link, k.store, k.input, nil)
				if !tc.refused {
					if code != 0 {
						t.Fatalf("store: %d %q %q", code, out, errOut)
					}
					out, _, code := runWithStdin(t, s, links, k.link, k.get, k.getInput(), nil)
					if code != 0 || !strings.Contains(out, k.secret) {
						t.Fatalf("get after store: %d", code)
					}
					return
				}
				if code != 1 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
					t.Fatalf("store: %d %q; want refused in one line", code, errOut)
				}
				for _, want := range []string{"kernel keyring", "reboot", `"secret-service"`, "AUTHOS_CACHE_PASSPHRASE", "allow_volatile_store = true"} {
					if !strings.Contains(errOut, want) {
						t.Errorf("message %q does not say %s", errOut, want)
					}
				}
				if left := records(t, s, ""); len(left) != 0 {
					t.Fatalf("a refused store left %v", left)
				}
			})
		}
	}
}

type statusJSON struct {
	Identities []struct {
		Valid   bool   `json:"valid"`
		Problem string `json:"problem"`
	} `json:"identities"`
	Stored []struct {
		Kind     string `json:"kind"`
		Name     string `json:"name"`
		Readable bool   `json:"readable"`
		Problem  string `json:"problem"`
	} `json:"stored"`
}

func status(t *testing.T, s *sandbox) statusJSON {
	t.Helper()
	out, errOut, code := s.run(t, "status", "--json")
	if code != 0 {
		t.Fatalf("status --json: %d %s", code, errOut)
	}
	var st statusJSON
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	return st
}

// TestStoreUnreadableKeptUntilRemoved: after a reboot cleared the kernel
// keyring, the next sign-in makes a new data key; the docker and Terraform
// credentials sealed under the old one are kept, shown by status as
// unreadable with the reason, and removed only by `logout --unreadable`
// (which leaves the readable token alone) or `logout --all`.
func TestStoreUnreadableKeptUntilRemoved(t *testing.T) {
	t.Parallel()
	links := storeLinks(t)
	for _, remove := range [][]string{{"logout", "--unreadable"}, {"logout", "--all"}} {
		t.Run(strings.Join(remove, " "), func(t *testing.T) {
			t.Parallel()
			d := startDevServer(t)
			s := newSandbox(t, d.URL)
			s.env["AUTHOS_CACHE_BACKEND"] = "keyctl"
			s.writeConfig(t, "[cache]\nallow_volatile_store = true\n")
			for _, k := range staticKinds {
				if out, errOut, code := runWithStdin(t, s, links, k.link, k.store, k.input, nil); code != 0 {
					t.Fatalf("%s store: %d %q %q", k.name, code, out, errOut)
				}
			}
			forgetKernelKeys(s.env["XDG_CACHE_HOME"]) // the reboot
			tok := s.login(t, d, 1, "alice@acme.example")

			for _, prefix := range []string{"docker-", "tf-"} {
				if len(records(t, s, prefix)) != 1 {
					t.Fatalf("the %s record sealed under the lost key was deleted", prefix)
				}
			}
			if out, _, code := runWithStdin(t, s, links, "docker-credential-authos", []string{"get"}, "https://index.docker.io/v1/", nil); code != 1 || !strings.Contains(out, "credentials not found") {
				t.Fatalf("docker get of the unreadable record: %d %q", code, out)
			}
			st := status(t, s)
			if len(st.Identities) != 1 || !st.Identities[0].Valid || len(st.Stored) != 2 {
				t.Fatalf("status --json = %+v", st)
			}
			for _, r := range st.Stored {
				if r.Readable || !strings.Contains(r.Problem, "unreadable") || !strings.Contains(r.Problem, "earlier data key") {
					t.Fatalf("stored row %+v: want unreadable with the reason", r)
				}
			}
			out, _, _ := s.run(t, "status")
			for _, kind := range []string{"docker", "terraform"} {
				if linesWith(out, kind) != 1 || linesWith(out, "logout --unreadable") != 2 {
					t.Fatalf("status does not show the unreadable %s record:\n%s", kind, out)
				}
			}

			_, errOut, code := s.run(t, remove...)
			if code != 0 || linesWith(errOut, "removed the unreadable") != 2 {
				t.Fatalf("%v: %d %q", remove, code, errOut)
			}
			if left := records(t, s, ""); remove[1] == "--unreadable" && len(left) != 1 || remove[1] == "--all" && len(left) != 0 {
				t.Fatalf("after %v: %v", remove, left)
			}
			if st := status(t, s); len(st.Stored) != 0 {
				t.Fatalf("status after %v: %+v", remove, st)
			}
			if remove[1] == "--unreadable" {
				if out, _, code := s.run(t, "token"); code != 0 || strings.TrimSpace(out) != tok {
					t.Fatalf("logout --unreadable touched the readable token: %d", code)
				}
				if _, errOut, _ := s.run(t, remove...); !strings.Contains(errOut, "no unreadable") {
					t.Fatalf("second %v: %q", remove, errOut)
				}
			}
		})
	}
}

// TestStoreLogoutForgetsKernelKeys: `logout --all`, and `logout` of the
// last entry, remove the helper's keys from the kernel keyring: the data
// key's kernel copy, and the keyctl data key itself once nothing sealed
// under it is left (a readable stored credential keeps it).
func TestStoreLogoutForgetsKernelKeys(t *testing.T) {
	t.Parallel()
	links := storeLinks(t)
	for _, tc := range []struct {
		name, backend string
		logout        []string
		keepStatic    bool
		wantData      bool
	}{
		{"keyctl, logout --all", "keyctl", []string{"logout", "--all"}, false, false},
		{"keyctl, logout of the last entry", "keyctl", []string{"logout"}, false, false},
		{"keyctl, a stored credential left", "keyctl", []string{"logout", "--all"}, true, true},
		{"file, logout --all", "file", []string{"logout", "--all"}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := startDevServer(t)
			s := newSandbox(t, d.URL)
			s.env["AUTHOS_CACHE_BACKEND"], s.env["AUTHOS_CACHE_PASSPHRASE"] = tc.backend, "pw"
			s.writeConfig(t, "[cache]\nallow_volatile_store = true\n")
			s.login(t, d, 1, "alice@acme.example")
			if tc.keepStatic {
				k := staticKinds[0]
				if _, errOut, code := runWithStdin(t, s, links, k.link, k.store, k.input, nil); code != 0 {
					t.Fatalf("store: %s", errOut)
				}
			}
			data, kcopy := kernelKeys(s)
			if data != (tc.backend == "keyctl") || kcopy != (tc.backend == "file") {
				t.Fatalf("before logout: data key %v, kernel copy %v", data, kcopy)
			}
			if _, errOut, code := s.run(t, tc.logout...); code != 0 {
				t.Fatalf("%v: %d %s", tc.logout, code, errOut)
			}
			data, kcopy = kernelKeys(s)
			if data != tc.wantData || kcopy {
				t.Fatalf("after %v: data key %v (want %v), kernel copy %v (want none)", tc.logout, data, tc.wantData, kcopy)
			}
			if tc.keepStatic {
				k := staticKinds[0]
				if out, _, code := runWithStdin(t, s, links, k.link, k.get, k.getInput(), nil); code != 0 || !strings.Contains(out, k.secret) {
					t.Fatalf("the stored credential did not survive logout --all: %d", code)
				}
			}
		})
	}
}

// TestStoreStaleTempFilesCleaned: temp files a killed writer left are
// removed by the next write (a sign-in), not by hits; a fresh one stays.
func TestStoreStaleTempFilesCleaned(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, d.URL)
	s.login(t, d, 1, "alice@acme.example")
	stale, fresh := filepath.Join(s.tokensDir(), ".tmp-1111"), filepath.Join(s.tokensDir(), ".tmp-2222")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte(`{"v":1,"kid":"`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-10 * time.Minute)
	os.Chtimes(stale, old, old)
	if _, _, code := s.run(t, "token"); code != 0 {
		t.Fatal("hit failed")
	}
	if _, err := os.Stat(stale); err != nil {
		t.Fatal("a hit removed a temp file: cleaning belongs to writes")
	}
	signIn(t, s, d, 2, "login")
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale temp file survived a write: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a fresh temp file (a writer at work) was removed: %v", err)
	}
}

// TestStoreOversizedEntryReplaced: an entry file far over any entry's size
// (here past what the helper reads at all) is a corrupt entry: a miss that
// the next sign-in replaces, not an error until someone deletes it.
func TestStoreOversizedEntryReplaced(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, d.URL)
	s.login(t, d, 1, "alice@acme.example")
	entries := records(t, s, "id-")
	if len(entries) != 1 {
		t.Fatalf("entries %v", entries)
	}
	if err := os.Truncate(entries[0], 17<<20); err != nil { // sparse
		t.Fatal(err)
	}
	out, _ := signIn(t, s, d, 2, "token")
	if strings.TrimSpace(out) == "" {
		t.Fatal("no token after replacing the oversized entry")
	}
	if st, err := os.Stat(entries[0]); err != nil || st.Size() > 64<<10 {
		t.Fatalf("entry not replaced: %v", err)
	}
}

// TestStoreNotWritableBeforeSignIn: a token cache that cannot be written
// is named in one line before a device code is asked for.
func TestStoreNotWritableBeforeSignIn(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, d.URL)
	blocker := filepath.Dir(s.tokensDir())
	os.MkdirAll(filepath.Dir(blocker), 0o700)
	if err := os.WriteFile(blocker, nil, 0o600); err != nil { // a file where a folder should be
		t.Fatal(err)
	}
	_, errOut, code := s.run(t, "token")
	want := "the token cache at " + s.tokensDir() + " is not writable"
	if code != 1 || !strings.Contains(errOut, want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Fatalf("token: %d %q; want one line %q", code, errOut, want)
	}
	if n := d.codes(t).DeviceCodeRequests; n != 0 {
		t.Fatalf("%d device flows for a cache that cannot store", n)
	}
}

// TestStoreLooseParentWarned: a folder above the cache that other users can
// write to is reported in one line at sign-in and by status, never on hits.
func TestStoreLooseParentWarned(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, d.URL)
	loose := s.env["XDG_CACHE_HOME"]
	os.MkdirAll(loose, 0o700)
	if err := os.Chmod(loose, 0o777); err != nil {
		t.Fatal(err)
	}
	_, errOut := signIn(t, s, d, 1, "token")
	if linesWith(errOut, "other users can write to "+loose) != 1 {
		t.Fatalf("sign-in stderr:\n%s", errOut)
	}
	if _, errOut, code := s.run(t, "token"); code != 0 || errOut != "" {
		t.Fatalf("hit: %d %q; want silent", code, errOut)
	}
	if _, errOut, _ := s.run(t, "status"); linesWith(errOut, loose) != 1 {
		t.Fatalf("status stderr: %q", errOut)
	}
	os.Chmod(loose, 0o700)
	if _, errOut, _ := s.run(t, "status"); errOut != "" {
		t.Fatalf("status stderr with private folders: %q", errOut)
	}
}
