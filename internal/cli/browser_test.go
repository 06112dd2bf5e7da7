package cli

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/internal/config"
	"github.com/authos/authos-credential-helper/internal/prompt"
)

func TestCanOpenBrowser(t *testing.T) {
	tests := []struct {
		goos string
		env  map[string]string
		want bool
	}{
		{"linux", map[string]string{"DISPLAY": ":0"}, true},
		{"linux", map[string]string{"WAYLAND_DISPLAY": "wayland-0"}, true},
		{"linux", map[string]string{}, false}, // a headless box: the QR code is the way
		{"linux", map[string]string{"DISPLAY": ":0", "SSH_CONNECTION": "10.0.0.1 22 10.0.0.2 5000"}, false},
		{"darwin", map[string]string{}, true},
		{"darwin", map[string]string{"SSH_TTY": "/dev/ttys001"}, false},
		{"windows", map[string]string{"SSH_CLIENT": "10.0.0.1 5000 22"}, false},
		{"windows", map[string]string{}, true},
	}
	for _, tt := range tests {
		if got := canOpenBrowser(tt.goos, func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("canOpenBrowser(%s, %v) = %v, want %v", tt.goos, tt.env, got, tt.want)
		}
	}
}

// The opener gets the URL and none of our secrets.
func TestOpenBrowserPassesNoSecret(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the fake opener is a shell script")
	}
	dir := t.TempDir()
	record := filepath.Join(dir, "record")
	script := "#!/bin/sh\necho \"args: $*\" > " + record + ".tmp\nenv >> " + record + ".tmp\necho noise\nmv " + record + ".tmp " + record + "\n"
	if err := os.WriteFile(filepath.Join(dir, "xdg-open"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	environ := []string{"PATH=" + os.Getenv("PATH"), "AUTHOS_CACHE_PASSPHRASE=hunter2hunter2", "DISPLAY=:0"}
	if err := openBrowser("linux", "https://sso.example/activate", environ); err != nil {
		t.Fatal(err)
	}
	var got []byte
	waitUntil := time.Now().Add(5 * time.Second)
	for time.Now().Before(waitUntil) {
		if b, err := os.ReadFile(record); err == nil {
			got = b
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	s := string(got)
	if !strings.Contains(s, "args: https://sso.example/activate") || !strings.Contains(s, "DISPLAY=:0") {
		t.Fatalf("the opener ran with: %q", s)
	}
	if strings.Contains(s, "hunter2") {
		t.Fatalf("the passphrase reached the opener's environment: %q", s)
	}
}

// No variable that may hold a token reaches the opener (and so a browser).
func TestWithoutSecrets(t *testing.T) {
	in := []string{"PATH=/bin", "AUTHOS_CACHE_PASSPHRASE=pw", "AUTHOS_TOKEN=eyJ.a.b", "CI_GIT_TOKEN=eyJ.c.d", "AUTHOS_TOKENS=keep", "DISPLAY=:0"}
	got := withoutSecrets(in, "CI_GIT_TOKEN")
	want := []string{"PATH=/bin", "AUTHOS_TOKENS=keep", "DISPLAY=:0"}
	if !slices.Equal(got, want) {
		t.Fatalf("withoutSecrets = %q, want %q", got, want)
	}
}

// hostileLinks must never reach an opener, nor make us touch the terminal.
var hostileLinks = []string{
	"file:///etc/passwd",
	"javascript:alert(1)",
	"data:text/html,<script>alert(1)</script>",
	"http://sso.example/activate", // plain http to another host
	"https://sso.example/activate\x1b]52;c;aGk=\x07",
	"https://sso.example/\x1b[2J",
	"https://evil.example/\u202etxt.exe",
	"https://sso.example@evil.example/",
	"-https://sso.example/",
	"--help",
	`https://sso.example\@evil.example/`,
}

type openRecorder struct {
	mu   sync.Mutex
	uris []string
}

func (r *openRecorder) open(_, uri string, _ []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.uris = append(r.uris, uri)
	return nil
}

func (r *openRecorder) opened() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.uris)
}

// The offer refuses what termsafe.CheckLink refuses before it opens the
// terminal; an acceptable link goes on to the terminal (which fails here).
func TestDecorateOffersOnlyAcceptableLinks(t *testing.T) {
	env := map[string]string{"DISPLAY": ":0"}
	links := append([]string{"https://sso.example/activate", "http://127.0.0.1:8080/activate"}, hostileLinks...)
	for i, uri := range links {
		acceptable := i < 2
		ttyOpened := false
		rec := &openRecorder{}
		a := &app{cfg: &config.Config{}, env: Env{
			Getenv: func(k string) string { return env[k] },
			TTY:    func() (*os.File, error) { ttyOpened = true; return nil, errors.New("no terminal in tests") },
		}}
		p := a.decorateWith(&prompt.TextPrompter{W: io.Discard, Live: true}, rec.open)
		if p.Offer == nil {
			t.Fatal("no offer on a desktop terminal")
		}
		if p.Offer(uri) || ttyOpened != acceptable || len(rec.opened()) != 0 {
			t.Errorf("Offer(%q): terminal opened %v (want %v), opener got %q", uri, ttyOpened, acceptable, rec.opened())
		}
	}
}

// openOnEnter opens after Enter; openBrowser itself refuses hostile links,
// whatever its caller checked (defence in depth), and says why, safely.
func TestOpenOnEnterAndOpenBrowserRefuse(t *testing.T) {
	rec := &openRecorder{}
	openOnEnter(io.NopCloser(strings.NewReader("\n")), "https://sso.example/activate", io.Discard, rec.open, nil)
	if got := rec.opened(); len(got) != 1 || got[0] != "https://sso.example/activate" {
		t.Fatalf("after Enter the opener got %q", got)
	}
	for _, uri := range hostileLinks {
		if err := openBrowser("linux", uri, nil); err == nil || !strings.Contains(err.Error(), "not opening") {
			t.Errorf("openBrowser(%q) = %v, want a refusal", uri, err)
		}
		var out strings.Builder
		openOnEnter(io.NopCloser(strings.NewReader("\n")), uri, &out, openBrowser, nil)
		if !strings.Contains(out.String(), "could not open a browser (not opening the sign-in address: ") || strings.ContainsAny(out.String(), "\x1b\x07\u202e") {
			t.Errorf("openOnEnter(%q) said %q", uri, out.String())
		}
	}
}
