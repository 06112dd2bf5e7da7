package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/authos/authos-credential-helper/internal/front"
)

// frontDoorName is the program clients run: on Linux the front door, which
// hands this binary what it does not answer itself.
const frontDoorName = "authos-credential-helper"

// selfPath is the path clients should run this helper by, symlinks
// resolved: the running executable, or, when that is the full helper
// (front.FullName), the front door beside it. Whatever the full helper
// writes into a client's configuration or shows as its own path goes
// through here, so that hits keep going through the front door.
func selfPath() (string, error) {
	exe, err := executable()
	return frontDoorOf(exe), err
}

// executable is the running binary's path, symlinks resolved.
func executable() (string, error) {
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		return "", fmt.Errorf("finding the helper's own path: %w", err)
	}
	return exe, nil
}

// frontDoorOf maps the full helper's path to the front door's beside it;
// any other path is its own front door.
func frontDoorOf(exe string) string {
	if filepath.Base(exe) == front.FullName {
		return filepath.Join(filepath.Dir(exe), frontDoorName)
	}
	return exe
}
