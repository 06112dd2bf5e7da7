package helper

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/internal/authos"
)

// notices records a Prompter's Notice lines.
type notices struct {
	nopPrompt
	lines []string
}

func (n *notices) Notice(line string) { n.lines = append(n.lines, line) }

func TestRevalidation(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	entry := func(obtained, checked time.Duration) cache.Entry {
		e := cache.Entry{AccessToken: cachedTok, TokenType: "Bearer", ObtainedAt: now.Add(-obtained), ExpiresAt: now.Add(8 * time.Hour)}
		if checked != 0 {
			e.CheckedAt = now.Add(-checked)
		}
		return e
	}
	errOffline := errors.New("dial tcp: connect: network is unreachable")
	tests := []struct {
		name        string
		entry       cache.Entry
		every       time.Duration
		alive       bool
		checkErr    error
		req         Request
		wantChecks  int
		wantToken   string
		wantErr     string
		wantLogins  int
		wantChecked bool   // the entry's CheckedAt is now
		wantNotice  string // a line the person is shown
	}{
		{name: "no check due: offline hit", entry: entry(10*time.Minute, 0), every: 15 * time.Minute, wantToken: cachedTok},
		{name: "checked recently: offline hit", entry: entry(time.Hour, 5*time.Minute), every: 15 * time.Minute, wantToken: cachedTok},
		{name: "off", entry: entry(48*time.Hour, 0), every: 0, wantToken: cachedTok},
		{name: "due and alive: served, check recorded", entry: entry(time.Hour, 20*time.Minute), every: 15 * time.Minute, alive: true,
			wantChecks: 1, wantToken: cachedTok, wantChecked: true},
		{name: "due and unreachable: served, attempt recorded", entry: entry(time.Hour, 0), every: 15 * time.Minute, checkErr: errOffline,
			wantChecks: 1, wantToken: cachedTok, wantChecked: true},
		{name: "due and revoked: evicted, signs in again", entry: entry(time.Hour, 0), every: 15 * time.Minute,
			wantChecks: 1, wantToken: newTok, wantLogins: 1, wantNotice: "has ended at the server"},
		{name: "revoked with nobody to prompt: the fix, and evicted", entry: entry(time.Hour, 0), every: 15 * time.Minute, req: Request{NonInteractive: true},
			wantChecks: 1, wantErr: "session has ended at the server"},
		{name: "force logs in without checking", entry: entry(time.Hour, 0), every: 15 * time.Minute, req: Request{Force: true},
			wantToken: newTok, wantLogins: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newMemCache()
			c.entries[id.Key()] = tc.entry
			checks, logins := 0, 0
			var gotDeadline time.Duration
			h := &Helper{Cache: c, Locks: cache.FileLocker{Dir: t.TempDir()}, Now: func() time.Time { return now },
				Login: func(context.Context, Identity, Prompter) (authos.Token, error) {
					logins++
					return authos.Token{AccessToken: newTok, TokenType: "Bearer", ExpiresIn: 3600}, nil
				},
				Check: func(ctx context.Context, got Identity, tok string) (bool, error) {
					checks++
					if d, ok := ctx.Deadline(); ok {
						gotDeadline = time.Until(d)
					}
					if got != id || tok != cachedTok {
						t.Errorf("checked %v with another token", got)
					}
					return tc.alive, tc.checkErr
				},
				Revalidate: func(Identity) time.Duration { return tc.every },
			}
			n := &notices{}
			req := tc.req
			req.Identity, req.Prompt = id, n
			cred, err := h.Token(context.Background(), req)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if _, ok := c.entries[id.Key()]; ok {
					t.Error("the revoked token is still cached")
				}
			} else if err != nil || cred.Token != tc.wantToken {
				t.Fatalf("Token = %q, %v; want %q", cred.Token, err, tc.wantToken)
			}
			if checks != tc.wantChecks || logins != tc.wantLogins {
				t.Errorf("checks = %d, logins = %d; want %d, %d", checks, logins, tc.wantChecks, tc.wantLogins)
			}
			if checks > 0 && (gotDeadline <= 0 || gotDeadline > CheckTimeout) {
				t.Errorf("check deadline %v, want at most %v", gotDeadline, CheckTimeout)
			}
			if got := c.entries[id.Key()].CheckedAt.Equal(now); got != tc.wantChecked {
				t.Errorf("CheckedAt = %v, want now: %v", c.entries[id.Key()].CheckedAt, tc.wantChecked)
			}
			if tc.wantNotice != "" && !strings.Contains(strings.Join(n.lines, "\n"), tc.wantNotice) {
				t.Errorf("notices %q, want %q", n.lines, tc.wantNotice)
			}
		})
	}
}

// TestRevalidationSparesANewerToken: a check that finds the session dead
// does not delete a token another process stored meanwhile.
func TestRevalidationSparesANewerToken(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	c := newMemCache()
	c.entries[id.Key()] = cache.Entry{AccessToken: cachedTok, ObtainedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour)}
	fresh := cache.Entry{AccessToken: newTok, ObtainedAt: now, ExpiresAt: now.Add(time.Hour)}
	h := &Helper{Cache: c, Now: func() time.Time { return now },
		Check: func(context.Context, Identity, string) (bool, error) {
			c.Put(id.Key(), fresh) // another process signed in during the check
			return false, nil
		},
		Revalidate: func(Identity) time.Duration { return time.Minute },
	}
	if s, err := h.CheckNow(context.Background(), id); s != SessionRevoked || err != nil {
		t.Fatalf("CheckNow = %v, %v", s, err)
	}
	if c.entries[id.Key()].AccessToken != newTok {
		t.Fatal("the newer token was deleted")
	}
}

func TestCheckNow(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		alive bool
		err   error
		want  Session
		kept  bool
	}{
		{"alive", true, nil, SessionAlive, true},
		{"revoked", false, nil, SessionRevoked, false},
		{"no answer", false, errors.New("timeout"), SessionUnknown, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newMemCache()
			// Checked a second ago: CheckNow asks anyway.
			c.entries[id.Key()] = cache.Entry{AccessToken: cachedTok, ObtainedAt: now.Add(-time.Second), ExpiresAt: now.Add(time.Hour)}
			h := &Helper{Cache: c, Now: func() time.Time { return now },
				Check: func(context.Context, Identity, string) (bool, error) { return tc.alive, tc.err }}
			s, err := h.CheckNow(context.Background(), id)
			if s != tc.want || (err != nil) != (tc.err != nil) {
				t.Fatalf("CheckNow = %v, %v; want %v", s, err, tc.want)
			}
			if _, kept := c.entries[id.Key()]; kept != tc.kept {
				t.Errorf("kept = %v, want %v", kept, tc.kept)
			}
		})
	}
	h := &Helper{Cache: newMemCache(), Check: func(context.Context, Identity, string) (bool, error) { t.Fatal("checked a miss"); return false, nil }}
	if s, err := h.CheckNow(context.Background(), id); s != SessionUnchecked || err != nil {
		t.Fatalf("miss: %v, %v", s, err)
	}
}
