//go:build !unix

package config

import "os"

func ownedDir(dir string) bool {
	st, err := os.Stat(dir)
	return err == nil && st.IsDir()
}
