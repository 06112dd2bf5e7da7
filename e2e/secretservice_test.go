package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretServiceBackend runs the helper against a real Secret Service
// (gnome-keyring in a private D-Bus session, unlocked headless by piping a
// password to gnome-keyring-daemon --unlock): auto mode must prefer it to the
// kernel keyring, the data key must live there (in the "login" collection,
// no GUI prompt), and the hit must work across processes.
func TestSecretServiceBackend(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"dbus-run-session", "gnome-keyring-daemon"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: test.sh installs it (Debian packages dbus-daemon, gnome-keyring)", tool)
		}
	}
	d := startDevServer(t, "--auto-approve", "alice@acme.example")
	s := newSandbox(t, d.URL)
	out := filepath.Join(s.root, "out")
	os.MkdirAll(out, 0o700)
	script := filepath.Join(s.root, "session.sh")
	os.WriteFile(script, []byte(`set -e
printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
"$BIN" token > "$OUT/token1" 2> "$OUT/err1"
"$BIN" token > "$OUT/token2" 2> "$OUT/err2"
"$BIN" status --json > "$OUT/status"
`), 0o600)
	cmd := exec.Command("dbus-run-session", "--", "sh", script)
	cmd.Env = append(s.environ(), "BIN="+bin, "OUT="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		e1, _ := os.ReadFile(filepath.Join(out, "err1"))
		t.Fatalf("session: %v\n%s\nhelper stderr: %s", err, b, e1)
	}
	read := func(name string) string { b, _ := os.ReadFile(filepath.Join(out, name)); return string(b) }
	if tok := read("token1"); !strings.HasPrefix(tok, "eyJ") || read("token2") != tok {
		t.Fatalf("tokens: %q / %q (stderr %s)", read("token1"), read("token2"), read("err1"))
	}
	if e := read("err2"); e != "" {
		t.Fatalf("the hit printed on stderr: %s", e)
	}
	var st struct{ Backend string }
	if err := json.Unmarshal([]byte(read("status")), &st); err != nil || st.Backend != "secret-service" {
		t.Fatalf("backend = %q (%v); auto mode should prefer a working Secret Service", st.Backend, err)
	}
	if n := d.codes(t).DeviceCodeRequests; n != 1 {
		t.Fatalf("%d device flows, want 1", n)
	}
	// The data key went to the Secret Service, not to a file keyring.
	if _, err := os.Stat(filepath.Join(s.env["XDG_DATA_HOME"], "authos-credential-helper", "keyring")); err == nil {
		t.Fatal("a file keyring was created")
	}
}
