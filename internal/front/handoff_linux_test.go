package front

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// readFd0 reads what fd 0 now holds, to its end.
func readFd0(t *testing.T) []byte {
	t.Helper()
	f := os.NewFile(uintptr(must(unix.Dup(0))), "stdin")
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func must(fd int, err error) int {
	if err != nil {
		panic(err)
	}
	return fd
}

// The full binary reads exactly the bytes the front door read, through
// the memfd or, without it, through a pipe grown to hold them (a
// request may be 1 MiB; a pipe holds 64 KiB unless told otherwise).
func TestReplayStdin(t *testing.T) {
	saved := must(unix.Dup(0))
	t.Cleanup(func() { unix.Dup3(saved, 0, 0); unix.Close(saved) })
	big := bytes.Repeat([]byte("wwwauth[]=Basic realm=x\n"), 40000) // ~1 MB
	for _, tt := range []struct {
		name   string
		replay func([]byte) error
		b      []byte
	}{
		{"memfd, small", replayStdin, []byte("protocol=https\nhost=git.example\n\n")},
		{"memfd, empty", replayStdin, nil},
		{"memfd, 1 MB", replayStdin, big},
		{"pipe, small", replayThroughPipe, []byte("registry.example")},
		{"pipe, empty", replayThroughPipe, nil},
		{"pipe, 1 MB", replayThroughPipe, big},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.replay(tt.b); err != nil {
				t.Fatal(err)
			}
			if got := readFd0(t); !bytes.Equal(got, tt.b) {
				t.Fatalf("fd 0 holds %d bytes, want %d", len(got), len(tt.b))
			}
			flags, err := unix.FcntlInt(0, unix.F_GETFD, 0)
			if err != nil || flags&unix.FD_CLOEXEC != 0 {
				t.Fatalf("fd 0 would not survive the exec: flags %#x, %v", flags, err)
			}
		})
	}
}

// A full binary that is the front door itself would be handed over to
// for ever.
func TestNotSelf(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "authos-credential-helper")
	os.WriteFile(self, []byte("front"), 0o755)
	full := filepath.Join(dir, FullName)
	if err := notSelf(self, full); err != nil {
		t.Fatalf("no full binary yet: %v", err)
	}
	os.WriteFile(full, []byte("full"), 0o755)
	if err := notSelf(self, full); err != nil {
		t.Fatalf("a real full binary: %v", err)
	}
	os.Remove(full)
	os.Symlink(self, full)
	if err := notSelf(self, full); err == nil || !strings.Contains(err.Error(), "is the front door itself") {
		t.Fatalf("a link to the front door: %v", err)
	}
	if err := notSelf(full, full); err == nil || !strings.Contains(err.Error(), "a copy of the front door") {
		t.Fatalf("the front door under the full binary's name: %v", err)
	}
}
