//go:build unix

package rawfile

import (
	"fmt"
	"io/fs"
	"syscall"
)

// ReadFile reads the named file like os.ReadFile, with errors of the same
// form (*fs.PathError wrapping the errno, so errors.Is(err, fs.ErrNotExist)
// works).
func ReadFile(name string) ([]byte, error) {
	fd, st, err := openStat(name)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	return readAll(fd, &st, name)
}

// mapMin is the size from which Map maps a file instead of reading it:
// reading costs a fresh, zero-filled page of heap per 4 KiB (a page fault
// each, ~3 µs in a VM), mapping reuses the page cache's, 16 pages a fault.
const mapMin = 64 << 10

// Map returns the named file's bytes like ReadFile, mapping a large file
// read-only instead of copying it. A file truncated while mapped makes
// reading past its new end fault (SIGBUS): callers read the bytes with
// debug.SetPanicOnFault set and recover, as the front door does.
func Map(name string) ([]byte, error) {
	fd, st, err := openStat(name)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd) // a mapping outlives its descriptor
	if st.Mode&syscall.S_IFMT == syscall.S_IFREG && st.Size >= mapMin && st.Size <= maxSize {
		if b, err := syscall.Mmap(fd, 0, int(st.Size), syscall.PROT_READ, syscall.MAP_PRIVATE); err == nil {
			return b, nil
		}
	}
	return readAll(fd, &st, name)
}

func openStat(name string) (int, syscall.Stat_t, error) {
	var st syscall.Stat_t
	fd, err := syscall.Open(name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	for err == syscall.EINTR {
		fd, err = syscall.Open(name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	}
	if err != nil {
		return -1, st, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return -1, st, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	return fd, st, nil
}

// readAll reads the open file fd (st its Fstat) to its end.
func readAll(fd int, st *syscall.Stat_t, name string) ([]byte, error) {
	if st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
		return nil, &fs.PathError{Op: "read", Path: name, Err: syscall.EISDIR}
	}
	if st.Size > maxSize {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("file is larger than %d bytes", maxSize)}
	}
	b := make([]byte, 0, st.Size+1) // +1 so a file that grew is seen at once
	for {
		n, err := syscall.Read(fd, b[len(b):cap(b)])
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return nil, &fs.PathError{Op: "read", Path: name, Err: err}
		case n == 0:
			return b, nil
		}
		b = b[:len(b)+n]
		if len(b) == cap(b) {
			if len(b) > maxSize {
				return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("file is larger than %d bytes", maxSize)}
			}
			b = append(b, 0)[:len(b)]
		}
	}
}
