package setup

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// LookPathIn finds name in the folders of path (a PATH value) the way
// exec.LookPath does on Unix: the first regular file with an execute bit;
// relative folders are skipped, as exec.LookPath refuses them.
func LookPathIn(path, name string) (string, error) {
	if strings.ContainsRune(name, os.PathSeparator) {
		if isExecutable(name) {
			return name, nil
		}
		return "", errors.New(name + ": not an executable file")
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if isExecutable(p) {
			return p, nil
		}
	}
	return "", errors.New(name + ": not found on PATH")
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
