package front

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// handoff replaces this process with the full binary: same arguments
// (argv[0] too, which names the protocol when invoked through a client's
// link), same environment, and, when replay, stdin as the bytes the
// front door read of it. It returns only on failure.
func handoff(args []string, replay bool, stdin []byte) error {
	self, err := selfPath(args)
	if err != nil {
		return fmt.Errorf("finding the full helper: %w", err)
	}
	full := filepath.Join(filepath.Dir(self), FullName)
	if err := notSelf(self, full); err != nil {
		return err
	}
	if replay {
		if err := replayStdin(stdin); err != nil {
			return fmt.Errorf("handing the request to %s: %w", full, err)
		}
	}
	err = unix.Exec(full, args, os.Environ())
	if errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("%s is missing: this command needs the full helper installed beside %s; reinstall (README, Install)", full, self)
	}
	return fmt.Errorf("running %s: %w", full, err)
}

// selfPath is the front door's own file, links resolved: /proc/self/exe,
// or, where /proc is not mounted, the path the client started it by.
// Never a PATH lookup: the full binary is the one installed with it.
func selfPath(args []string) (string, error) {
	self, err := os.Executable()
	if err == nil {
		return self, nil
	}
	if len(args) > 0 && strings.ContainsRune(args[0], '/') {
		return filepath.EvalSymlinks(args[0])
	}
	return "", err
}

// notSelf refuses a full binary that is the front door itself (a copy
// installed under the full binary's name, or a link to it), which would
// hand over to itself for ever.
func notSelf(self, full string) error {
	if filepath.Base(self) == FullName {
		return fmt.Errorf("%s is a copy of the front door, not the full helper; reinstall (README, Install)", self)
	}
	var a, b unix.Stat_t
	if unix.Stat(self, &a) == nil && unix.Stat(full, &b) == nil && a.Dev == b.Dev && a.Ino == b.Ino {
		return fmt.Errorf("%s is the front door itself, not the full helper; reinstall (README, Install)", full)
	}
	return nil
}

// replayStdin makes fd 0 a private in-memory file holding b: what the
// front door read is what the full binary reads. The rest of the original
// stdin, if the client left any after the request, is not carried over;
// the protocols' decoders stop at the request's end.
func replayStdin(b []byte) error {
	fd, err := unix.MemfdCreate("authos-stdin", unix.MFD_CLOEXEC)
	if err != nil {
		return replayThroughPipe(b)
	}
	if err := writeAll(fd, b); err != nil {
		unix.Close(fd) // a file size limit (ulimit -f) binds a memfd, not a pipe
		return replayThroughPipe(b)
	}
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		unix.Close(fd)
		return err
	}
	return moveTo0(fd)
}

// replayThroughPipe is for kernels or sandboxes without memfd_create: the
// pipe is grown to hold all of b (requests are at most 1 MiB, the default
// pipe-max-size), and its write end never blocks, since nobody reads it
// until the exec.
func replayThroughPipe(b []byte) error {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return err
	}
	fail := func(err error) error { unix.Close(p[0]); unix.Close(p[1]); return err }
	if len(b) > 0 {
		size, err := unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, len(b))
		if err != nil || size < len(b) {
			return fail(fmt.Errorf("a pipe cannot hold the %d-byte request without memfd_create", len(b)))
		}
	}
	if err := writeAll(p[1], b); err != nil {
		return fail(err)
	}
	unix.Close(p[1])
	// The reader must block as stdin does.
	if _, err := unix.FcntlInt(uintptr(p[0]), unix.F_SETFL, 0); err != nil {
		unix.Close(p[0])
		return err
	}
	return moveTo0(p[0])
}

// writeAll writes all of b to fd, or fails: a request cut short must
// never reach the full binary as a whole one.
func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return errors.New("short write")
		}
		b = b[n:]
	}
	return nil
}

// moveTo0 makes fd the process's stdin, kept across exec. fd is 0 itself
// when the client started us with stdin closed.
func moveTo0(fd int) error {
	if fd == 0 {
		_, err := unix.FcntlInt(0, unix.F_SETFD, 0)
		return err
	}
	defer unix.Close(fd)
	return unix.Dup3(fd, 0, 0)
}
