package cache

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/authos/authos-credential-helper/internal/atomicfile"
	"github.com/authos/authos-credential-helper/internal/rawfile"
)

// The small plain files beside the sealed entries: what `status` and
// `doctor` show and a waiting process reads. None holds a token or a
// device code.

// Miss is a request for a token that came when no one could be asked to
// sign in (CI, Terraform with no terminal, an IDE's background fetch).
type Miss struct {
	Client string `json:"client"`         // git, docker, kubectl, terraform
	Host   string `json:"host,omitempty"` // what the client asked for, as it sent it
	// Entry is the identity's entry name; Identity its description and
	// Login the command that fixes the miss, for the person.
	Entry    string    `json:"entry"`
	Identity string    `json:"identity"`
	Login    string    `json:"login"`
	At       time.Time `json:"at"`
}

// maxMisses is how many MissLog keeps: the last few are what a person
// asks about.
const maxMisses = 8

// maxSideFile bounds what a side file read accepts.
const maxSideFile = 64 << 10

// MissLog is the file of the last few misses (0600, in the state folder).
type MissLog struct{ Path string }

// Misses is the MissLog in stateDir.
func Misses(stateDir string) MissLog { return MissLog{Path: filepath.Join(stateDir, "misses.json")} }

// Record adds m, replacing an earlier miss by the same client for the same
// host and identity, and keeps the newest maxMisses. Two processes
// recording at once may lose one record: it is a hint, not a ledger.
func (l MissLog) Record(m Miss) error {
	const maxField = 256
	for _, f := range []*string{&m.Client, &m.Host, &m.Identity, &m.Login} {
		if len(*f) > maxField {
			*f = (*f)[:maxField]
		}
	}
	old, _ := l.List() // an unreadable log is replaced
	out := []Miss{m}
	for _, o := range old {
		if len(out) == maxMisses {
			break
		}
		if o.Client == m.Client && o.Host == m.Host && o.Entry == m.Entry {
			continue
		}
		out = append(out, o)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	if err := atomicfile.PrivateDir(filepath.Dir(l.Path)); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(l.Path, b, 0o600); err != nil {
		return fmt.Errorf("recording the sign-in that was needed: %w", err)
	}
	return nil
}

// List returns the recorded misses, newest first; none when there is no
// file.
func (l MissLog) List() ([]Miss, error) {
	var out []Miss
	if err := readSide(l.Path, &out); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	return out, nil
}

// Flow is a device flow in progress as a waiting process may show it: the
// verification address and user code, never the device code.
type Flow struct {
	URI       string    `json:"verification_uri"`
	UserCode  string    `json:"user_code"`
	ExpiresAt time.Time `json:"expires_at"`
}

// FlowBoard keeps, per identity, the Flow of the sign-in in progress
// (NAME.flow beside NAME.lock, 0600) for the processes waiting on that
// lock. The process signing in writes it when it shows the code and
// removes it when the flow ends.
type FlowBoard struct{ Dir string }

func (b FlowBoard) path(name string) string { return filepath.Join(b.Dir, name+".flow") }

// Put replaces name's flow with f.
func (b FlowBoard) Put(name string, f Flow) error {
	if !validName(name) {
		return fmt.Errorf("invalid flow name %q", name)
	}
	out, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if err := atomicfile.PrivateDir(b.Dir); err != nil {
		return err
	}
	return atomicfile.WriteFile(b.path(name), out, 0o600)
}

// Get reads name's flow in progress; ok is false when there is none.
func (b FlowBoard) Get(name string) (f Flow, ok bool, err error) {
	if !validName(name) {
		return Flow{}, false, fmt.Errorf("invalid flow name %q", name)
	}
	if err := readSide(b.path(name), &f); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Flow{}, false, nil
		}
		return Flow{}, false, err
	}
	return f, f.UserCode != "", nil
}

// Remove deletes name's flow (it ended).
func (b FlowBoard) Remove(name string) {
	if validName(name) {
		os.Remove(b.path(name))
	}
}

// readSide decodes a side file (a missing one: fs.ErrNotExist).
func readSide(path string, v any) error {
	b, err := rawfile.ReadFile(path)
	if err != nil {
		return err
	}
	if len(b) > maxSideFile {
		return fmt.Errorf("%s: %d bytes, larger than the helper writes", path, len(b))
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
