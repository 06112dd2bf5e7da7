// Command startup measures what users feel on every git fetch and kubectl
// call: the wall time of a cache hit in each protocol (token, git, docker,
// kubectl, Terraform) and of each protocol's answer for a host it does not
// serve, beside the same binary's `version` and a hello-world Go program,
// plus peak RSS.
//
//	go run ./bench/startup -bin PATH -hello PATH [-runs 300]
//
// It logs in against its own dev server, stops the server (so a hit that
// touched the network would fail), then runs the commands round-robin so
// drift on a busy machine hits all of them alike.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/authos/authos-credential-helper/bench/internal/signedin"
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

// command is one measured invocation.
type command struct {
	name     string
	args     []string
	stdin    string
	env      []string
	wantExit int
}

type sample struct {
	wall   []time.Duration
	maxRSS int64 // KiB
}

// peakRSS runs args under GNU time, whose plain fork starts the child from
// a tiny process: rusage of a child this Go program starts directly would
// include this program's own memory (vfork shares it until exec).
func peakRSS(c command, env []string) (int64, error) {
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		return 0, fmt.Errorf("peak RSS needs GNU time (/usr/bin/time; Debian package time)")
	}
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M"}, c.args...)...)
	cmd.Env = append(env, c.env...)
	cmd.Stdin = strings.NewReader(c.stdin)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Run(); err != nil && cmd.ProcessState.ExitCode() != c.wantExit {
		return 0, fmt.Errorf("%v: %s", err, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	var kib int64
	_, err := fmt.Sscan(lines[len(lines)-1], &kib)
	return kib, err
}

func run(bin, hello string, runs int) error {
	w, err := signedin.Setup(bin, `default_profile = "bench"
[profiles.bench]
server = %[1]q
org = "acme"
service = "cli"
client_id = "acme-cli"
git = ["https://git.bench.example/"]
docker = ["registry.bench.example"]
terraform = ["tf.bench.example"]
`)
	if err != nil {
		return err
	}
	defer w.Close()
	env := w.Env

	execInfo := "KUBERNETES_EXEC_INFO=" + `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`
	cmds := []command{
		{name: "hello-world Go program", args: []string{hello}},
		{name: "`version`", args: []string{bin, "version"}},
		{name: "`token`, cache hit", args: []string{bin, "token"}},
		{name: "git get, cache hit", args: []string{bin, "git", "get"}, stdin: "protocol=https\nhost=git.bench.example\n\n"},
		{name: "git get, unknown host", args: []string{bin, "git", "get"}, stdin: "protocol=https\nhost=github.com\n\n"},
		{name: "docker get, cache hit", args: []string{bin, "docker", "get"}, stdin: "registry.bench.example"},
		{name: "docker get, unknown registry", args: []string{bin, "docker", "get"}, stdin: "https://index.docker.io/v1/", wantExit: 1},
		{name: "kube, cache hit", args: []string{bin, "kube"}, env: []string{execInfo}},
		{name: "terraform get, cache hit", args: []string{bin, "terraform", "get", "tf.bench.example"}},
		{name: "terraform get, unknown host", args: []string{bin, "terraform", "get", "registry.terraform.io"}},
	}
	samples := make([]sample, len(cmds))
	for i := 0; i < runs+10; i++ {
		for j, c := range cmds {
			d, err := timeOne(c, env)
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
			rss, err := peakRSS(c, env)
			if err != nil {
				return err
			}
			samples[j].maxRSS = max(samples[j].maxRSS, rss)
		}
	}
	st, _ := os.Stat(bin)
	fmt.Printf("%d runs each, interleaved; binary %.1f MB\n\n", runs, float64(st.Size())/1e6)
	fmt.Println("| command | median | p95 | median − `version` | peak RSS |")
	fmt.Println("|---|---|---|---|---|")
	var version time.Duration
	for j, c := range cmds {
		med, p95 := signedin.Quantiles(samples[j].wall)
		if j == 1 {
			version = med
		}
		delta := "—"
		if j >= 1 {
			delta = fmt.Sprintf("%+.2f ms", float64(med-version)/1e6)
		}
		fmt.Printf("| %s | %s | %s | %s | %.1f MB |\n", c.name, signedin.MS(med), signedin.MS(p95), delta, float64(samples[j].maxRSS)/1024)
	}
	return nil
}

func timeOne(c command, env []string) (time.Duration, error) {
	cmd := exec.Command(c.args[0], c.args[1:]...)
	cmd.Env = append(env, c.env...)
	cmd.Stdin = strings.NewReader(c.stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != c.wantExit {
		return 0, fmt.Errorf("%v (exit %d): %s", err, cmd.ProcessState.ExitCode(), out.String())
	}
	return d, nil
}
