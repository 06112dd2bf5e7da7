//go:build unix

package rawfile

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

func TestMap(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 10, mapMin - 1, mapMin, mapMin + 4097, 1 << 20} {
		p := filepath.Join(dir, "f")
		want := bytes.Repeat([]byte("x"), size)
		if err := os.WriteFile(p, want, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := Map(p)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("size %d: %d bytes, %v", size, len(got), err)
		}
	}
	if _, err := Map(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := Map(dir); err == nil {
		t.Fatal("a directory mapped")
	}
}

// A mapped file cut short faults where it was read; with SetPanicOnFault
// that is a panic the reader recovers from, not a crash.
func TestMapTruncatedFaultsRecoverably(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, bytes.Repeat([]byte("y"), 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := Map(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	recovered := func() (r any) {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() { r = recover() }()
		_ = bytes.IndexByte(b, 'z') // reads past the new end
		return nil
	}()
	if recovered == nil {
		t.Fatal("reading a truncated mapping did not fault")
	}
}
