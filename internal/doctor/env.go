package doctor

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/authos/authos-credential-helper/internal/setup"
)

// Env is the machine as the checks see it.
type Env struct {
	Getenv       func(string) string
	Environ      []string // NAME=value; only the names of TF_TOKEN_ variables are used
	Home         string
	GOOS, GOARCH string
	ReadFile     func(string) ([]byte, error)      // nil: os.ReadFile
	Stat         func(string) (fs.FileInfo, error) // nil: os.Stat
	LookPath     func(string) (string, error)      // finds a command on PATH
	EvalSymlinks func(string) (string, error)      // nil: filepath.EvalSymlinks
	// FrontDoor is the front door this helper belongs to when it runs as
	// the full helper beside one (Linux); "": none (run directly).
	FrontDoor string
	// Git runs git with args and returns its stdout; exit status 1 (no
	// match) is ("", nil). Nil: git is not installed.
	Git func(ctx context.Context, args ...string) (string, error)
	Now func() time.Time
}

func (e Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// read is a file's content; a missing file is (nil, false, nil).
func (e Env) read(path string) ([]byte, bool, error) {
	rf := e.ReadFile
	if rf == nil {
		rf = os.ReadFile
	}
	b, err := rf(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	return b, err == nil, err
}

func (e Env) stat(path string) (fs.FileInfo, error) {
	if e.Stat != nil {
		return e.Stat(path)
	}
	return os.Stat(path)
}

func (e Env) resolve(path string) (string, error) {
	if e.EvalSymlinks != nil {
		return e.EvalSymlinks(path)
	}
	return filepath.EvalSymlinks(path)
}

func (e Env) locations() setup.Locations {
	return setup.Locate(e.Getenv, e.Home, e.GOOS, e.GOARCH)
}

// pretty shows a path under the home folder as ~/….
func (e Env) pretty(p string) string {
	if e.Home != "" && len(p) > len(e.Home) && p[:len(e.Home)] == e.Home && p[len(e.Home)] == os.PathSeparator {
		return "~" + p[len(e.Home):]
	}
	return p
}
