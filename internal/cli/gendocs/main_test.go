package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authos/authos-credential-helper/internal/version"
)

// TestWrite: every file is there, is what the binary prints, and the
// compressed page is the page.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	old := version.Version
	version.Version = "v9.9.9"
	t.Cleanup(func() { version.Version = old })
	if err := write(dir); err != nil {
		t.Fatal(err)
	}
	for file, args := range map[string][]string{
		prog + ".1":                     {"man"},
		"completions/" + prog + ".bash": {"completion", "bash"},
		"completions/_" + prog:          {"completion", "zsh"},
		"completions/" + prog + ".fish": {"completion", "fish"},
	} {
		got, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		want, err := render(args)
		if err != nil || !bytes.Equal(got, want) || len(got) == 0 {
			t.Errorf("%s differs from %v (%v)", file, args, err)
		}
	}
	page, _ := os.ReadFile(filepath.Join(dir, prog+".1"))
	if !strings.Contains(string(page), "v9.9.9") {
		t.Errorf("the page does not name the version")
	}
	f, err := os.Open(filepath.Join(dir, prog+".1.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	unz, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unz, page) || !zr.ModTime.IsZero() {
		t.Errorf("the .gz is not the page, or carries a time (%v, %v)", err, zr.ModTime)
	}
}
