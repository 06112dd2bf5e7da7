package front

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// handoff replaces this process with the full binary: same arguments
// (argv[0] too, which names the protocol when invoked through a client's
// link), same environment, and, when the front door read some of stdin,
// those bytes again as stdin. It returns only on failure.
func handoff(args []string, readStdin bool, consumed []byte) error {
	self, err := os.Executable() // /proc/self/exe: links already resolved
	if err != nil {
		return fmt.Errorf("finding the full helper: %w", err)
	}
	full := filepath.Join(filepath.Dir(self), FullName)
	if readStdin {
		if err := replayStdin(consumed); err != nil {
			return fmt.Errorf("handing the request to %s: %w", full, err)
		}
	}
	err = unix.Exec(full, args, os.Environ())
	if errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("%s is missing: this command needs the full helper installed beside %s; reinstall (README, Install)", full, self)
	}
	return fmt.Errorf("running %s: %w", full, err)
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
	if _, err := unix.Write(fd, b); err != nil {
		return err
	}
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		return err
	}
	return moveTo0(fd)
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

// replayThroughPipe is for kernels or sandboxes without memfd_create: a
// pipe holds up to 64 KiB with nobody reading, and requests are smaller.
func replayThroughPipe(b []byte) error {
	if len(b) > 60<<10 {
		return errors.New("request too large to hand over without memfd_create")
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return err
	}
	_, err := unix.Write(p[1], b)
	unix.Close(p[1])
	if err != nil {
		unix.Close(p[0])
		return err
	}
	return moveTo0(p[0])
}
