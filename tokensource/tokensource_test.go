package tokensource

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewFindsThePluginOnPATH(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", dir)
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), PluginName) || !strings.Contains(err.Error(), "install.sh") {
		t.Fatalf("no plugin on PATH: err = %v, want one naming the binary and how to install it", err)
	}
	exe := filepath.Join(dir, PluginName)
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := New(Config{})
	if err != nil || src.path != exe {
		t.Fatalf("New = %v, %v; want the plugin at %s", src, err, exe)
	}
	// Close before any call starts nothing and fails nothing.
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
}
