package cache

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/authos/authos-credential-helper/internal/redact"
)

// FileLocker serialises sign-ins per identity across processes (a
// helper.Locker) with OS file locks in one private folder. The kernel
// releases a lock when its process dies, so kill -9 leaves nothing stale.
type FileLocker struct {
	Dir string
	// Poll is how often a waiting process retries; default 100 ms.
	Poll time.Duration
}

func (l FileLocker) Lock(ctx context.Context, name string, waiting func()) (func(), bool, error) {
	path := filepath.Join(l.Dir, name+".lock")
	poll := l.Poll
	if poll == 0 {
		poll = 100 * time.Millisecond
	}
	waited := false
	for {
		unlock, ok, err := TryLockFile(path)
		if err != nil {
			return nil, false, err
		}
		if ok {
			return unlock, waited, nil
		}
		if !waited {
			waited = true
			if waiting != nil {
				waiting()
			}
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, waited, ctx.Err()
		case <-t.C:
		}
	}
}

// The failure marker holds "unix-nanos message" in plain text, outside the
// sealed store.
func (l FileLocker) marker(name string) string { return filepath.Join(l.Dir, name+".failed") }

// Failed writes the marker. The message gets the redaction stderr gets
// (one line, anything JWT-shaped replaced by a fingerprint): errors can
// quote a server's answer, and a token there must not land on disk.
func (l FileLocker) Failed(name string, at time.Time, err error) {
	msg := redact.String(strings.Join(strings.Fields(err.Error()), " "))
	os.WriteFile(l.marker(name), []byte(fmt.Sprintf("%d %s", at.UnixNano(), msg)), 0o600)
}

func (l FileLocker) LastFailure(name string, since time.Time) (string, bool) {
	b, err := os.ReadFile(l.marker(name))
	if err != nil {
		return "", false
	}
	ts, msg, _ := strings.Cut(string(b), " ")
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Unix(0, n).Before(since) {
		return "", false
	}
	return msg, true
}

func (l FileLocker) Succeeded(name string) { os.Remove(l.marker(name)) }
