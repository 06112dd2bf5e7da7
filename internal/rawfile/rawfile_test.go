package rawfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 70000) // > one read, not a multiple of the page size
	tests := []struct {
		name    string
		path    string
		want    []byte
		wantErr bool
		missing bool // the error must match fs.ErrNotExist
	}{
		{"empty", write("empty", nil), []byte{}, false, false},
		{"small", write("small", []byte("a = 1\n")), []byte("a = 1\n"), false, false},
		{"large", write("large", big), big, false, false},
		{"missing", filepath.Join(dir, "missing"), nil, true, true},
		{"directory", dir, nil, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadFile(tt.path)
			want, wantErr := os.ReadFile(tt.path)
			if tt.wantErr {
				if err == nil || wantErr == nil {
					t.Fatalf("ReadFile = %v, os.ReadFile = %v; want both to fail", err, wantErr)
				}
				if errors.Is(err, fs.ErrNotExist) != tt.missing {
					t.Fatalf("err = %v; errors.Is(err, fs.ErrNotExist) should be %v", err, tt.missing)
				}
				var pe *fs.PathError
				if !errors.As(err, &pe) || pe.Path != tt.path {
					t.Fatalf("err = %#v, want a *fs.PathError naming %s", err, tt.path)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) || !bytes.Equal(got, want) {
				t.Fatalf("ReadFile = %d bytes, %v; want %d bytes like os.ReadFile", len(got), err, len(tt.want))
			}
		})
	}
}

func TestReadFileTooLarge(t *testing.T) {
	p := filepath.Join(t.TempDir(), "huge")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxSize + 1); err != nil { // sparse: no real 16 MB written
		t.Fatal(err)
	}
	f.Close()
	if _, err := ReadFile(p); err == nil {
		t.Fatal("ReadFile of a file over the limit succeeded")
	}
}
