package helper

import (
	"errors"
	"fmt"
	"time"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/internal/termsafe"
)

// MissRecorder keeps the requests no one could be asked to sign in for
// (cache.MissLog), so that `status` and `doctor` can say what the client
// could not: Terraform, for one, hides the helper's message.
type MissRecorder interface {
	Record(cache.Miss) error
}

// recordMiss notes that client asked for host's token of id when nobody
// could see a prompt. Failing to record changes nothing for the client.
func (w *Wired) recordMiss(client, host string, id Identity, err error) {
	var lre *LoginRequiredError
	if w.Misses == nil || !errors.As(err, &lre) {
		return
	}
	w.Misses.Record(cache.Miss{
		Client: client, Host: host, Entry: id.Key(), Identity: id.String(), Login: id.LoginCommand(), At: w.Helper.now().UTC(),
	})
}

// SignInNeeded is the recorded misses whose identity still has no valid
// token obtained after them, newest first (for `status` and `doctor`).
func (h *Helper) SignInNeeded(misses []cache.Miss) []cache.Miss {
	var out []cache.Miss
	for _, m := range misses {
		st, found, err := h.EntryStatus(m.Entry)
		if err == nil && found && st.Valid && st.ObtainedAt.After(m.At) {
			continue
		}
		out = append(out, m)
	}
	return out
}

// MissText is the line for a recorded miss: "sign-in needed: terraform
// asked for tf.acme.example at 10:03 with no terminal; run: …".
func MissText(m cache.Miss, now time.Time) string {
	what := m.Host
	if what == "" {
		what = "a token for " + m.Identity
	}
	at := m.At.Local()
	when := at.Format("15:04")
	if y, mo, d := now.Local().Date(); at.Year() != y || at.Month() != mo || at.Day() != d {
		when = at.Format("2006-01-02 15:04")
	}
	return termsafe.Strip(fmt.Sprintf("sign-in needed: %s asked for %s at %s with no terminal to show a sign-in on; run: %s", m.Client, what, when, m.Login))
}
