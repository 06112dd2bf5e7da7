package httpserve

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestUntil(t *testing.T) {
	cases := []struct {
		name    string
		hold    time.Duration // how long the one request in flight takes
		grace   time.Duration
		wantErr error
	}{
		{"idle", 0, time.Second, nil},
		{"request finishes within grace", 50 * time.Millisecond, 5 * time.Second, nil},
		{"request outlives grace", 5 * time.Second, 50 * time.Millisecond, context.DeadlineExceeded},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			started := make(chan struct{}, 1)
			release := make(chan struct{})
			defer close(release)
			hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/slow" {
					started <- struct{}{}
					select {
					case <-time.After(c.hold):
					case <-release:
					}
				}
			})}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- Until(ctx, hs, ln, c.grace) }()

			if resp, err := http.Get("http://" + addr + "/"); err != nil {
				t.Fatalf("not serving: %v", err)
			} else {
				resp.Body.Close()
			}
			if c.hold > 0 {
				go func() {
					if resp, err := http.Get("http://" + addr + "/slow"); err == nil {
						resp.Body.Close()
					}
				}()
				<-started
			}
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("Until: %v, want %v", err, c.wantErr)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Until did not return")
			}
			if conn, err := net.Dial("tcp", addr); err == nil {
				conn.Close()
				t.Fatal("the port still accepts connections")
			}
		})
	}
}

func TestUntilServeFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	if err := Until(context.Background(), &http.Server{}, ln, time.Second); err == nil || errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Until on a closed listener: %v", err)
	}
}
