package helper

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/internal/authos"
)

// shown records what a Prompter was asked to show.
type shown struct {
	mu       sync.Mutex
	codes    []string
	finished int
	waiting  chan struct{}
}

func (s *shown) ShowCode(_ Identity, uri, code string, _ time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes = append(s.codes, uri+" "+code)
}
func (s *shown) Event(Event)      {}
func (s *shown) Waiting(Identity) { close(s.waiting) }
func (s *shown) Finish(error)     { s.mu.Lock(); s.finished++; s.mu.Unlock() }
func (s *shown) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.codes...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWaiterShowsTheCodeOfTheSignInInProgress: a process waiting for
// another's sign-in shows that sign-in's address and code (from the
// board, never the device code), then gets the token it stored.
func TestWaiterShowsTheCodeOfTheSignInInProgress(t *testing.T) {
	dir := t.TempDir()
	board := cache.FlowBoard{Dir: filepath.Join(dir, "locks")}
	locks := cache.FileLocker{Dir: filepath.Join(dir, "locks"), Poll: 10 * time.Millisecond}
	c := newMemCache()
	now := time.Now()
	approve := make(chan struct{})
	signer := &Helper{Cache: c, Locks: locks, Flows: board, Login: func(_ context.Context, id Identity, p Prompter) (authos.Token, error) {
		p.ShowCode(id, "https://sso.example/activate", "ABCD-EFGH", now.Add(15*time.Minute))
		<-approve
		p.Finish(nil)
		return authos.Token{AccessToken: newTok, ExpiresIn: 3600}, nil
	}}
	signerPrompt := &shown{waiting: make(chan struct{})}
	signed := make(chan error, 1)
	go func() {
		_, err := signer.Token(context.Background(), Request{Identity: id, Prompt: signerPrompt})
		signed <- err
	}()
	waitFor(t, "the signer's code", func() bool { return len(signerPrompt.got()) == 1 })

	waiter := &Helper{Cache: c, Locks: locks, Flows: board, Login: func(context.Context, Identity, Prompter) (authos.Token, error) {
		t.Error("the waiter signed in too")
		return authos.Token{}, nil
	}}
	waiterPrompt := &shown{waiting: make(chan struct{})}
	got := make(chan Credential, 1)
	go func() {
		cred, err := waiter.Token(context.Background(), Request{Identity: id, Prompt: waiterPrompt})
		if err != nil {
			t.Error(err)
		}
		got <- cred
	}()
	waitFor(t, "the waiter to show the code", func() bool { return len(waiterPrompt.got()) == 1 })
	if g := waiterPrompt.got(); g[0] != "https://sso.example/activate ABCD-EFGH" {
		t.Fatalf("waiter showed %q", g)
	}
	close(approve)
	if err := <-signed; err != nil {
		t.Fatal(err)
	}
	if cred := <-got; cred.Token != newTok {
		t.Fatalf("waiter got %q", cred.Token)
	}
	if waiterPrompt.finished != 1 {
		t.Errorf("waiter's prompt finished %d times", waiterPrompt.finished)
	}
	if _, ok, _ := board.Get(id.Key()); ok {
		t.Error("the flow is still on the board after it ended")
	}
}

func TestShareable(t *testing.T) {
	now := time.Now()
	ok := cache.Flow{URI: "https://sso.example/activate", UserCode: "ABCD-EFGH", ExpiresAt: now.Add(time.Minute)}
	bad := []cache.Flow{
		{URI: ok.URI, UserCode: "AB\x1b[2JCD", ExpiresAt: ok.ExpiresAt},
		{URI: ok.URI, UserCode: ok.UserCode, ExpiresAt: now.Add(-time.Second)},
		{URI: "", UserCode: ok.UserCode, ExpiresAt: ok.ExpiresAt},
		{URI: "https://x/" + string(make([]byte, maxFlowURI)), UserCode: ok.UserCode, ExpiresAt: ok.ExpiresAt},
	}
	if !shareable(ok, now) {
		t.Fatal("refused AuthOS's usual flow")
	}
	for _, f := range bad {
		if shareable(f, now) {
			t.Errorf("shared %+v", f)
		}
	}
}
