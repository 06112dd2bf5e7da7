package cache

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"

	"github.com/authos/authos-credential-helper/internal/atomicfile"
)

// TryLockFile takes an exclusive lock on path without waiting; Windows drops
// it when the process dies.
func TryLockFile(path string) (unlock func(), ok bool, err error) {
	return lock(path, windows.LOCKFILE_FAIL_IMMEDIATELY)
}

// LockFile takes an exclusive lock on path, waiting as long as it takes.
func LockFile(path string) (unlock func(), err error) {
	u, _, err := lock(path, 0)
	return u, err
}

func lock(path string, flags uint32) (func(), bool, error) {
	if err := atomicfile.PrivateDir(filepath.Dir(path)); err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("opening lock %s: %w", path, err)
	}
	ol := new(windows.Overlapped)
	err = windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|flags, 0, 1, 0, ol)
	if err == windows.ERROR_LOCK_VIOLATION {
		f.Close()
		return nil, false, nil
	}
	if err != nil {
		f.Close()
		return nil, false, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, true, nil
}
