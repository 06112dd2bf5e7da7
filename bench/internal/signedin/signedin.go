// Package signedin prepares what the benchmarks measure against: a private
// XDG tree whose cache already holds a token from a dev server that is
// stopped again, so that anything touching the network fails.
package signedin

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// World is a signed-in sandbox.
type World struct {
	Root string
	// Env is the environment every measured process runs with.
	Env []string
}

// Setup creates the sandbox, writes config.toml from profile (which gets the
// dev server's URL for %[1]q), signs in through bin and stops the server.
func Setup(bin, profile string) (*World, error) {
	root, err := os.MkdirTemp("", "authos-bench-")
	if err != nil {
		return nil, err
	}
	w := &World{Root: root, Env: []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + root,
		"XDG_CONFIG_HOME=" + filepath.Join(root, "config"), "XDG_CACHE_HOME=" + filepath.Join(root, "cache"),
		"XDG_STATE_HOME=" + filepath.Join(root, "state"), "XDG_DATA_HOME=" + filepath.Join(root, "data"),
		"XDG_RUNTIME_DIR=" + filepath.Join(root, "run"),
	}}
	if err := w.setup(bin, profile); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

func (w *World) setup(bin, profile string) error {
	if err := os.MkdirAll(filepath.Join(w.Root, "run"), 0o700); err != nil {
		return err
	}
	server, url, err := startServer(bin)
	if err != nil {
		return err
	}
	defer func() { server.Process.Kill(); server.Wait() }()
	cfgDir := filepath.Join(w.Root, "config", "authos-credential-helper")
	if err := os.MkdirAll(cfgDir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "config.toml"), []byte(fmt.Sprintf(profile, url)), 0o600); err != nil {
		return err
	}
	return login(bin, url, w.Env)
}

// Close removes the sandbox.
func (w *World) Close() { os.RemoveAll(w.Root) }

func startServer(bin string) (*exec.Cmd, string, error) {
	cmd := exec.Command(bin, "dev-server", "--listen", "127.0.0.1:0", "--interval", "1", "--no-rate-limit")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	sc := bufio.NewScanner(out)
	if !sc.Scan() {
		cmd.Process.Kill()
		return nil, "", fmt.Errorf("dev server did not start")
	}
	return cmd, strings.TrimPrefix(sc.Text(), "authos dev server listening on "), nil
}

// login runs `login` and approves its code through the control endpoint.
func login(bin, url string, env []string) error {
	cmd := exec.Command(bin, "login")
	cmd.Env = env
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		return err
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var r struct {
			Codes []struct {
				UserCode string `json:"user_code"`
			} `json:"codes"`
		}
		if resp, err := http.Get(url + "/_dev/codes"); err == nil {
			json.NewDecoder(resp.Body).Decode(&r)
			resp.Body.Close()
		}
		if len(r.Codes) > 0 {
			body := fmt.Sprintf(`{"action":"approve","user_code":%q}`, r.Codes[0].UserCode)
			resp, err := http.Post(url+"/_dev/control", "application/json", strings.NewReader(body))
			if err != nil {
				return err
			}
			resp.Body.Close()
			if err := cmd.Wait(); err != nil {
				return fmt.Errorf("login: %v: %s", err, errOut.String())
			}
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Kill()
	return fmt.Errorf("login: no device code appeared")
}

// Quantiles sorts d and returns its median and 95th percentile.
func Quantiles(d []time.Duration) (median, p95 time.Duration) {
	sort.Slice(d, func(a, b int) bool { return d[a] < d[b] })
	return d[len(d)/2], d[len(d)*95/100]
}

// MS formats d in milliseconds.
func MS(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }
