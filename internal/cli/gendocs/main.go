// Command gendocs writes the man page and the shell completions, rendered
// from the command definitions, for release archives and packages:
//
//	go run ./internal/cli/gendocs [-version v1.2.3] DIR
//
// DIR gets authos-credential-helper.1 (and .1.gz, reproducible) and
// completions/authos-credential-helper.bash, _authos-credential-helper
// (zsh) and authos-credential-helper.fish.
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/authos/authos-credential-helper/internal/cli"
	"github.com/authos/authos-credential-helper/internal/config"
	"github.com/authos/authos-credential-helper/internal/version"
)

func main() {
	v := flag.String("version", "", "the version the man page names (default: the binary's)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: gendocs [-version V] DIR")
		os.Exit(2)
	}
	if *v != "" {
		version.Version = *v
	}
	if err := write(flag.Arg(0)); err != nil {
		fmt.Fprintf(os.Stderr, "gendocs: %v\n", err)
		os.Exit(1)
	}
}

const prog = "authos-credential-helper"

func write(dir string) error {
	outputs := []struct {
		file string
		args []string
	}{
		{prog + ".1", []string{"man"}},
		{filepath.Join("completions", prog+".bash"), []string{"completion", "bash"}},
		{filepath.Join("completions", "_"+prog), []string{"completion", "zsh"}},
		{filepath.Join("completions", prog+".fish"), []string{"completion", "fish"}},
	}
	for _, o := range outputs {
		text, err := render(o.args)
		if err != nil {
			return err
		}
		if err := save(filepath.Join(dir, o.file), text); err != nil {
			return err
		}
		if o.args[0] == "man" {
			var z bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression) // no name, no time: reproducible
			zw.Write(text)
			if err := zw.Close(); err != nil {
				return err
			}
			if err := save(filepath.Join(dir, o.file+".gz"), z.Bytes()); err != nil {
				return err
			}
		}
	}
	return nil
}

// render runs the command line in process, as `authos-credential-helper ARGS`.
func render(args []string) ([]byte, error) {
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), cli.Env{
		Args: append([]string{prog}, args...), Stdin: bytes.NewReader(nil), Stdout: &out, Stderr: &errb,
		Getenv: func(string) string { return "" }, Paths: config.Paths{},
	})
	if code != 0 {
		return nil, fmt.Errorf("%s %v: exit %d: %s", prog, args, code, errb.String())
	}
	return out.Bytes(), nil
}

func save(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
