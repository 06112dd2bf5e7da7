//go:build !unix

package rawfile

import "os"

// ReadFile is os.ReadFile where opening a file costs nothing extra.
func ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

// Map is ReadFile.
func Map(name string) ([]byte, error) { return ReadFile(name) }
