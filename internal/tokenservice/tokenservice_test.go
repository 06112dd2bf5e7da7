package tokenservice

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/internal/authos"
	"github.com/authos/authos-credential-helper/internal/config"
	"github.com/authos/authos-credential-helper/internal/termsafe"
	"github.com/authos/authos-credential-helper/tokenplugin"
)

// cachedToken is JWT-shaped: the helper serves nothing else.
const cachedToken = "e30.eyJzdWIiOiJ1MSJ9.c2ln"

// cachedWorld is a config with profile "acme" and a valid token cached for
// it, on the file backend (no OS keyring needed) with the default kernel
// keyring copy of the data key, as on a desktop.
func cachedWorld(t testing.TB) (*Service, string) {
	t.Helper()
	root := t.TempDir()
	paths := config.Paths{
		ConfigFile: filepath.Join(root, "config.toml"), Tokens: filepath.Join(root, "tokens"),
		State: filepath.Join(root, "state"), Locks: filepath.Join(root, "locks"), FileRing: filepath.Join(root, "ring"),
	}
	cfg := "[profiles.acme]\nserver = \"https://sso.acme.example\"\norg = \"acme\"\nservice = \"cli\"\nclient_id = \"acme-cli\"\n"
	if err := os.WriteFile(paths.ConfigFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"AUTHOS_CACHE_BACKEND": "file", "AUTHOS_CACHE_PASSPHRASE": "correct horse"}
	s := New(paths, func(k string) string { return env[k] })
	p, err := s.current()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Keys.Remove() }) // and its kernel keyring copy
	id := helper.FromProfile("acme", p.Config.Profiles["acme"])
	now := time.Now()
	if err := p.Store.Put(id.Key(), cache.Entry{Server: id.Server, Org: id.Org, Service: id.Service, ClientID: id.ClientID,
		AccessToken: cachedToken, TokenType: "Bearer", ObtainedAt: now, ExpiresAt: now.Add(time.Hour), Email: "a@acme.example"}); err != nil {
		t.Fatal(err)
	}
	return s, paths.ConfigFile
}

func TestTokenStatusAndConfigReload(t *testing.T) {
	s, cfgFile := cachedWorld(t)
	ctx := context.Background()
	tok, err := s.Token(ctx, tokenplugin.TokenRequest{Identity: tokenplugin.Identity{Profile: "acme"}}, nil)
	if err != nil || tok.AccessToken != cachedToken || !tok.FromCache || tok.Identity.Org != "acme" || tok.Identity.Profile != "acme" {
		t.Fatalf("Token = %+v, %v", tok, err)
	}
	explicit := tokenplugin.Identity{Server: "https://sso.acme.example", Org: "acme", Service: "cli", ClientID: "acme-cli"}
	if tok, err := s.Token(ctx, tokenplugin.TokenRequest{Identity: explicit}, nil); err != nil || tok.AccessToken != cachedToken {
		t.Fatalf("Token for the explicit identity = %+v, %v", tok, err)
	}
	st, err := s.Status(ctx, tokenplugin.Identity{Profile: "acme"})
	if err != nil || !st.Cached || !st.Valid || st.Email != "a@acme.example" {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	// A profile added while the plugin runs is seen by the next call.
	if _, err := s.Token(ctx, tokenplugin.TokenRequest{Identity: tokenplugin.Identity{Profile: "beta"}}, nil); !errors.Is(err, tokenplugin.ErrBadIdentity) {
		t.Fatalf("unknown profile: %v", err)
	}
	f, _ := os.OpenFile(cfgFile, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("\n[profiles.beta]\nserver = \"https://sso.beta.example\"\norg = \"beta\"\nservice = \"cli\"\nclient_id = \"beta-cli\"\n")
	f.Close()
	_, err = s.Token(ctx, tokenplugin.TokenRequest{Identity: tokenplugin.Identity{Profile: "beta"}}, nil)
	if !errors.Is(err, tokenplugin.ErrLoginRequired) || !strings.Contains(err.Error(), "login --profile beta") {
		t.Fatalf("new profile, nothing cached, not interactive: %v", err)
	}
}

// BenchmarkToken is a cache hit served in process, and the same through
// go-plugin's gRPC connection (what a host pays per call, minus the socket).
func BenchmarkToken(b *testing.B) {
	s, _ := cachedWorld(b)
	req := tokenplugin.TokenRequest{Identity: tokenplugin.Identity{Profile: "acme"}}
	b.Run("in-process", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Token(context.Background(), req, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("grpc", func(b *testing.B) {
		client, _ := plugin.TestPluginGRPCConn(b, false, map[string]plugin.Plugin{tokenplugin.Name: &tokenplugin.Plugin{Impl: s}})
		defer client.Close()
		raw, err := client.Dispense(tokenplugin.Name)
		if err != nil {
			b.Fatal(err)
		}
		svc := raw.(tokenplugin.Service)
		for b.Loop() {
			if _, err := svc.Token(context.Background(), req, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestHostPrompterNotices: the helper's notices reach the host as a
// message (and the helper finds the method).
func TestHostPrompterNotices(t *testing.T) {
	var got []tokenplugin.Prompt
	var p helper.Prompter = hostPrompter{id: helper.Identity{Org: "acme"}, send: func(pr tokenplugin.Prompt) { got = append(got, pr) }}
	n, ok := p.(helper.Noticer)
	if !ok {
		t.Fatal("hostPrompter is no helper.Noticer")
	}
	n.Notice("warning: the token could not be cached")
	if len(got) != 1 || got[0].Message != "warning: the token could not be cached" || got[0].Kind == tokenplugin.PromptCode || got[0].Identity.Org != "acme" {
		t.Fatalf("host got %+v", got)
	}
}

// A host may print the prompt's fields or open its URI: what the server
// sent reaches it only as helper.Display allows.
func TestHostPrompterSanitizes(t *testing.T) {
	id := helper.Identity{Server: "https://sso.acme.example", Org: "acme", Service: "cli", ClientID: "acme-cli"}
	tests := []struct {
		uri, code   string
		wantURI     string
		wantWarning bool
	}{
		{"https://sso.acme.example/activate", "ABCD-EFGH", "https://sso.acme.example/activate", false},
		{"file:///etc/passwd", "ABCD-EFGH", "", true},
		{"https://sso.acme.example/activate\x1b]52;c;aGk=\x07", "ABCD-EFGH", "", true},
		{"https://sso.acme.example/activate", "AB\x1b[2J\u202eCD", "https://sso.acme.example/activate", true},
	}
	for _, tt := range tests {
		var got []tokenplugin.Prompt
		h := hostPrompter{id: id, send: func(p tokenplugin.Prompt) { got = append(got, p) }}
		h.ShowCode(id, tt.uri, tt.code, time.Now().Add(15*time.Minute))
		h.Event(authos.Event{Kind: authos.EventRetrying, Interval: time.Second, Err: errors.New("boom \x1b]0;title\x07\u202e")})
		if len(got) != 2 {
			t.Fatalf("%d prompts", len(got))
		}
		p := got[0]
		if p.VerificationURI != tt.wantURI || strings.Contains(p.Message, "warning") != tt.wantWarning {
			t.Errorf("ShowCode(%q, %q) = %+v", tt.uri, tt.code, p)
		}
		for _, s := range []string{p.Message, p.UserCode, got[1].Message} {
			if !termsafe.Clean(s) {
				t.Errorf("ShowCode(%q, %q): %q reaches the host", tt.uri, tt.code, s)
			}
		}
	}
}
