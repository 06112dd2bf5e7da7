// Command plugin measures what a Go host pays for a token: one call through
// an already started authos-credential-plugin, and starting the plugin plus
// that first call (then stopping it), beside exec-ing `token` (cache hits
// all; the dev server is stopped before measuring).
//
//	go run ./bench/plugin -bin PATH -plugin PATH [-runs 300]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/authos/authos-credential-helper/bench/internal/signedin"
	"github.com/authos/authos-credential-helper/tokensource"
)

func main() {
	bin := flag.String("bin", "", "authos-credential-helper binary")
	plugin := flag.String("plugin", "", "authos-credential-plugin binary")
	runs := flag.Int("runs", 300, "runs per measurement")
	flag.Parse()
	if *bin == "" || *plugin == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*bin, *plugin, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(bin, plugin string, runs int) error {
	w, err := signedin.Setup(bin, "default_profile = \"bench\"\n[profiles.bench]\nserver = %[1]q\norg = \"acme\"\nservice = \"cli\"\nclient_id = \"acme-cli\"\n")
	if err != nil {
		return err
	}
	defer w.Close()
	cfg := tokensource.Config{Identity: tokensource.Identity{Profile: "bench"}, Plugin: plugin, Env: w.Env}

	started, err := tokensource.New(cfg)
	if err != nil {
		return err
	}
	defer started.Close()
	if _, err := started.Token(); err != nil { // start it before measuring
		return err
	}
	measures := []struct {
		name string
		once func() error
	}{
		{"exec `token --profile bench`", func() error {
			cmd := exec.Command(bin, "token", "--profile", "bench")
			cmd.Env = w.Env
			var errOut bytes.Buffer
			cmd.Stderr = &errOut
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("token: %v: %s", err, errOut.String())
			}
			return nil
		}},
		{"token call through a started plugin", func() error {
			_, err := started.Token()
			return err
		}},
		{"plugin start + first token call + stop", func() error {
			src, err := tokensource.New(cfg)
			if err != nil {
				return err
			}
			defer src.Close()
			_, err = src.Token()
			return err
		}},
	}
	samples := make([][]time.Duration, len(measures))
	for i := range runs + 10 {
		for j, m := range measures {
			start := time.Now()
			if err := m.once(); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			if i >= 10 { // warm-up
				samples[j] = append(samples[j], time.Since(start))
			}
		}
	}
	fmt.Printf("%d runs each, interleaved\n\n| what | median | p95 |\n|---|---|---|\n", runs)
	for j, m := range measures {
		med, p95 := signedin.Quantiles(samples[j])
		fmt.Printf("| %s | %s | %s |\n", m.name, signedin.MS(med), signedin.MS(p95))
	}
	return nil
}
