// Command startup measures what users feel on every git fetch and kubectl
// call: the wall time of a cache-hit `token` beside the same binary's
// `version` and a hello-world Go program, plus peak RSS.
//
//	go run ./bench/startup -bin PATH -hello PATH [-runs 300]
//
// It logs in against its own dev server, stops the server (so a hit that
// touched the network would fail), then runs the commands round-robin so
// drift on a busy machine hits all of them alike.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

func main() {
	bin := flag.String("bin", "", "authos-credential-helper binary")
	hello := flag.String("hello", "", "hello-world binary")
	runs := flag.Int("runs", 300, "runs per command")
	flag.Parse()
	if *bin == "" || *hello == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*bin, *hello, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type sample struct {
	wall   []time.Duration
	maxRSS int64 // KiB
}

// peakRSS runs args under GNU time, whose plain fork starts the child from
// a tiny process: rusage of a child this Go program starts directly would
// include this program's own memory (vfork shares it until exec).
func peakRSS(args, env []string) (int64, error) {
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		return 0, fmt.Errorf("peak RSS needs GNU time (/usr/bin/time; Debian package time)")
	}
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M"}, args...)...)
	cmd.Env = env
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%v: %s", err, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	var kib int64
	_, err := fmt.Sscan(lines[len(lines)-1], &kib)
	return kib, err
}

func run(bin, hello string, runs int) error {
	root, err := os.MkdirTemp("", "authos-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + root,
		"XDG_CONFIG_HOME=" + filepath.Join(root, "config"), "XDG_CACHE_HOME=" + filepath.Join(root, "cache"),
		"XDG_STATE_HOME=" + filepath.Join(root, "state"), "XDG_DATA_HOME=" + filepath.Join(root, "data"),
		"XDG_RUNTIME_DIR=" + filepath.Join(root, "run"),
	}
	os.MkdirAll(filepath.Join(root, "run"), 0o700)

	server, url, err := startServer(bin)
	if err != nil {
		return err
	}
	env = append(env, "AUTHOS_SERVER="+url, "AUTHOS_ORG=acme", "AUTHOS_SERVICE=cli", "AUTHOS_CLIENT_ID=acme-cli")
	if err := login(bin, url, env); err != nil {
		server.Process.Kill()
		return err
	}
	server.Process.Kill()
	server.Wait()

	cmds := []struct {
		name string
		args []string
	}{
		{"hello-world Go program", []string{hello}},
		{"authos-credential-helper version", []string{bin, "version"}},
		{"authos-credential-helper token (cache hit, server stopped)", []string{bin, "token"}},
	}
	samples := make([]sample, len(cmds))
	for i := 0; i < runs+10; i++ {
		for j, c := range cmds {
			d, err := timeOne(c.args, env)
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			if i < 10 {
				continue // warm-up: page cache, CPU frequency
			}
			samples[j].wall = append(samples[j].wall, d)
		}
	}
	for j, c := range cmds {
		for range 5 {
			rss, err := peakRSS(c.args, env)
			if err != nil {
				return err
			}
			samples[j].maxRSS = max(samples[j].maxRSS, rss)
		}
	}
	st, _ := os.Stat(bin)
	fmt.Printf("%d runs each, interleaved; binary %.1f MB\n\n", runs, float64(st.Size())/1e6)
	fmt.Println("| command | median | p95 | peak RSS |")
	fmt.Println("|---|---|---|---|")
	for j, c := range cmds {
		w := samples[j].wall
		sort.Slice(w, func(a, b int) bool { return w[a] < w[b] })
		fmt.Printf("| %s | %s | %s | %.1f MB |\n", c.name, ms(w[len(w)/2]), ms(w[len(w)*95/100]), float64(samples[j].maxRSS)/1024)
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }

func timeOne(args, env []string) (time.Duration, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%v: %s", err, out.String())
	}
	return d, nil
}

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
