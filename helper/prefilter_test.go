package helper

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/authos/authos-credential-helper/internal/config"
	"github.com/authos/authos-credential-helper/protocol"
)

// tomlString writes s as a TOML string the way a person might: plain
// (mode 0), with the rune at `at` as a \u escape (1), as a literal string
// (2), or as a multi-line string split by a line-ending backslash at `at`
// (3). ok is false when that form cannot hold s.
func tomlString(s string, mode, at int) (string, bool) {
	if !utf8.ValidString(s) {
		return "", false
	}
	var b strings.Builder
	switch mode {
	case 2:
		if strings.ContainsAny(s, "'\r\n\x7f") || strings.ContainsFunc(s, func(r rune) bool { return r < ' ' && r != '\t' }) {
			return "", false
		}
		return "'" + s + "'", true
	case 3:
		b.WriteString(`"""`)
	default:
		b.WriteString(`"`)
	}
	i := 0
	for _, r := range s {
		switch {
		case mode == 1 && i == at:
			fmt.Fprintf(&b, `\U%08X`, r)
		case mode == 3 && i == at:
			b.WriteString("\\\n    ")
			b.WriteRune(r)
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case r < ' ' || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
		i++
	}
	if mode == 3 {
		b.WriteString(`"""`)
	} else {
		b.WriteString(`"`)
	}
	return b.String(), true
}

// FuzzPreFilter: the pre-filter (config.Mentions on the config text, as
// Credentials applies it) never answers "not mine" for a host a profile's
// pattern matches, however the pattern is written in TOML.
func FuzzPreFilter(f *testing.F) {
	for _, seed := range []struct {
		kind          uint8
		pattern, host string
		mode, at      int
	}{
		{0, "https://git.acme.example/", "git.acme.example", 0, 0},
		{0, "https://git.acme.example/team/", "GIT.acme.example:443", 1, 8},
		{0, "https://git.acme.example:8443/", "git.acme.example:8443", 3, 10},
		{0, "https://\u212Aube.example/", "kube.example", 0, 0}, // Kelvin sign
		{0, "https://kube.example/", "\u212Aube.example", 0, 0}, // Kelvin sign
		{0, "https://%C3%A9.example/", "\u00e9.example", 0, 0},  // percent-escaped host
		{0, "https://\u00e9.example/", "%C3%A9.example", 0, 0},  // percent-escaped host
		{0, "https://user@git.acme.example/", "git.acme.example", 2, 0},
		{0, "https://[::1]:8443/", "[::1]:8443", 0, 0},
		{1, "docker.io", "https://index.docker.io/v1/", 0, 0},
		{1, "Registry.Hub.Docker.com", "docker.io", 1, 3},
		{1, "doc\u212Aer.io", "index.docker.io", 0, 0},
		{1, "https://registry.acme.example:5000/v2/", "registry.acme.example:5000", 3, 4},
		{2, "TF.acme.example:443", "tf.acme.example", 0, 0},
		{2, "tf.acme.example:0080", "tf.acme.example:80", 1, 0},
		{2, "tf.\u212Acme.example", "tf.kcme.example", 0, 0},
	} {
		f.Add(seed.kind, seed.pattern, seed.host, seed.mode, seed.at)
	}
	f.Fuzz(func(t *testing.T, kind uint8, pattern, host string, mode, at int) {
		if mode < 0 || at < 0 {
			return
		}
		lit, ok := tomlString(pattern, mode%4, at%(len(pattern)+1))
		if !ok {
			return
		}
		key := []string{"git", "docker", "terraform"}[kind%3]
		text := acmeProfile + key + " = [" + lit + "]\n"
		cfg, err := config.Parse("config.toml", []byte(text))
		if err != nil {
			return
		}
		w := newCredWorld(t, "")
		w.text = []byte(text)
		ctx := context.Background()
		var matched bool
		switch key {
		case "git":
			req, err := protocol.DecodeGit(strings.NewReader("protocol=https\nhost=" + host + "\n\n"))
			if err != nil {
				return
			}
			_, matched, _ = MatchHost(cfg, Selector{}, w.Getenv, "git", req.URL(), nil)
			w.c.GitGet(ctx, Selector{}, req)
		case "docker":
			if strings.ContainsAny(host, "\r\n") || protocol.DockerRegistryHost(host) == "" {
				return
			}
			_, matched, _ = MatchHost(cfg, Selector{}, w.Getenv, "docker", protocol.DockerRegistryHost(host), protocol.DockerRegistryHost)
			w.c.DockerGet(ctx, host)
		case "terraform":
			_, h, err := protocol.DecodeTerraformArgs([]string{"get", host})
			if err != nil {
				return
			}
			_, matched, _ = MatchHost(cfg, Selector{}, w.Getenv, "terraform", h, protocol.TerraformHost)
			w.c.TerraformGet(ctx, Selector{}, h)
		}
		if matched && w.opens == 0 {
			t.Fatalf("%s pattern %q (written %s) matches host %q, but the pre-filter skipped it", key, pattern, lit, host)
		}
	})
}
