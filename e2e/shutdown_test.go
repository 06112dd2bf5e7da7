package e2e

import (
	"bufio"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The long-running servers stop cleanly on SIGTERM and SIGINT: exit status
// 0, the port closed, one line on stderr saying why.
func TestServersStopOnSignal(t *testing.T) {
	dev := startDevServer(t)
	cases := []struct {
		name   string
		args   []string
		prefix string // of the stdout line that holds the URL
		sig    syscall.Signal
	}{
		{"dev-server SIGTERM", []string{"dev-server", "--listen", "127.0.0.1:0"}, "authos dev server listening on ", syscall.SIGTERM},
		{"dev-server SIGINT", []string{"dev-server", "--listen", "127.0.0.1:0"}, "authos dev server listening on ", syscall.SIGINT},
		{"activation-server SIGTERM", []string{"activation-server", "--listen", "127.0.0.1:0", "--server", dev.URL}, "activation pages on ", syscall.SIGTERM},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(bin, c.args...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr syncBuffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			lines := make(chan string, 1)
			go func() {
				sc := bufio.NewScanner(stdout)
				sc.Scan()
				lines <- sc.Text()
			}()
			var line string
			select {
			case line = <-lines:
			case <-time.After(15 * time.Second):
				t.Fatalf("did not start: %s", stderr.String())
			}
			rest, ok := strings.CutPrefix(line, c.prefix)
			u, err := url.Parse(strings.Fields(rest + " ")[0])
			if !ok || err != nil || u.Host == "" {
				t.Fatalf("stdout line %q", line)
			}
			if conn, err := net.Dial("tcp", u.Host); err != nil {
				t.Fatalf("not listening on %s: %v", u.Host, err)
			} else {
				conn.Close()
			}

			if err := cmd.Process.Signal(c.sig); err != nil {
				t.Fatal(err)
			}
			waited := make(chan error, 1)
			go func() { waited <- cmd.Wait() }()
			select {
			case err := <-waited:
				if err != nil {
					t.Fatalf("exit: %v; stderr:\n%s", err, stderr.String())
				}
			case <-time.After(15 * time.Second):
				t.Fatal("did not stop")
			}
			last := strings.TrimSuffix(stderr.String(), "\n")
			last = last[strings.LastIndexByte(last, '\n')+1:]
			if want := c.args[0] + ": stopped (" + c.sig.String() + " signal received)"; last != want {
				t.Errorf("last stderr line %q, want %q", last, want)
			}
			if conn, err := net.Dial("tcp", u.Host); err == nil {
				conn.Close()
				t.Errorf("%s still accepts connections", u.Host)
			}
		})
	}
}
