//go:build linux || darwin || freebsd

package cache

import (
	"os"

	"golang.org/x/sys/unix"
)

// freeSpace is the room left for dir's files (root may also use the
// blocks reserved for it).
func freeSpace(dir string) (uint64, bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, false, err
	}
	blocks := uint64(st.Bavail)
	if os.Geteuid() == 0 {
		blocks = uint64(st.Bfree)
	}
	return blocks * uint64(st.Bsize), true, nil
}
