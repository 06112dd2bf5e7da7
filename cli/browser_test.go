package cli

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
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
