package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name, toml, wantErr string
		check               func(t *testing.T, c *Config)
	}{
		{name: "cli.md example", toml: `default_profile = "acme"

[profiles.acme]
server    = "https://sso.acme.example"
org       = "acme"
service   = "cli"
client_id = "acme-cli"
git       = ["https://git.acme.example/"]
docker    = ["registry.acme.example"]
terraform = ["tf.acme.example"]
username  = "oauth2"

[profiles.platform]
server    = "https://sso.acme.example"
org       = "platform"
service   = "admin-cli"
client_id = "platform-admin-cli"

[cache]
backend = "auto"
expiry_margin = "10m"
`, check: func(t *testing.T, c *Config) {
			if c.DefaultProfile != "acme" || c.Profiles["acme"].ClientID != "acme-cli" || c.Profiles["acme"].Docker[0] != "registry.acme.example" ||
				c.Profiles["platform"].Org != "platform" || c.Cache.Backend != "auto" || c.Cache.ExpiryMargin.Duration != 10*time.Minute {
				t.Fatalf("%+v", c)
			}
			if got := c.ProfileNames(); len(got) != 2 || got[0] != "acme" {
				t.Fatalf("ProfileNames = %v", got)
			}
		}},
		{name: "allow_volatile_store", toml: "[cache]\nallow_volatile_store = true\n", check: func(t *testing.T, c *Config) {
			if !c.Cache.AllowVolatileStore {
				t.Fatalf("%+v", c.Cache)
			}
		}},
		{name: "allow_volatile_store off by default", toml: "[cache]\nbackend = \"keyctl\"\n", check: func(t *testing.T, c *Config) {
			if c.Cache.AllowVolatileStore {
				t.Fatalf("%+v", c.Cache)
			}
		}},
		{name: "allow_volatile_store is a bool", toml: "[cache]\nallow_volatile_store = \"yes\"\n", wantErr: "config"},
		{name: "unknown key", toml: "[profiles.a]\nsevrer = \"x\"\n", wantErr: "unknown key"},
		{name: "bad margin", toml: "[cache]\nexpiry_margin = \"soon\"\n", wantErr: "config"},
		{name: "dangling default", toml: "default_profile = \"x\"\n", wantErr: "names no [profiles.x]"},
		{name: "not toml", toml: "[[[", wantErr: "config"},
		{name: "revalidate default", toml: "[profiles.a]\nserver = \"https://s\"\n", check: func(t *testing.T, c *Config) {
			if got := c.Profiles["a"].RevalidateEvery(); got != 15*time.Minute {
				t.Fatalf("RevalidateEvery = %v", got)
			}
		}},
		{name: "revalidate set", toml: "[profiles.a]\nrevalidate = \"2m\"\n", check: func(t *testing.T, c *Config) {
			if got := c.Profiles["a"].RevalidateEvery(); got != 2*time.Minute {
				t.Fatalf("RevalidateEvery = %v", got)
			}
		}},
		{name: "revalidate off", toml: "[profiles.a]\nrevalidate = \"0\"\n", check: func(t *testing.T, c *Config) {
			if got := c.Profiles["a"].RevalidateEvery(); got != 0 {
				t.Fatalf("RevalidateEvery = %v", got)
			}
		}},
		{name: "revalidate negative", toml: "[profiles.a]\nrevalidate = \"-1m\"\n", wantErr: "negative"},
		{name: "revalidate not a duration", toml: "[profiles.a]\nrevalidate = \"often\"\n", wantErr: "config"},
		{name: "resource and token_env", toml: "[profiles.g]\nresource = \"https://git.acme.example\"\ntoken_env = \"CI_AUTHOS_TOKEN\"\n", check: func(t *testing.T, c *Config) {
			if p := c.Profiles["g"]; p.Resource != "https://git.acme.example" || p.TokenEnv != "CI_AUTHOS_TOKEN" {
				t.Fatalf("%+v", p)
			}
		}},
		{name: "resource with path", toml: "[profiles.g]\nresource = \"https://api.acme.example/v1\"\n"},
		{name: "resource http", toml: "[profiles.g]\nresource = \"http://git.acme.example\"\n", wantErr: "profiles.g: resource: \"http://git.acme.example\" must be an absolute https:// URI"},
		{name: "resource relative", toml: "[profiles.g]\nresource = \"git.acme.example\"\n", wantErr: "absolute https://"},
		{name: "resource no host", toml: "[profiles.g]\nresource = \"https:///x\"\n", wantErr: "has no host"},
		{name: "resource fragment", toml: "[profiles.g]\nresource = \"https://git.acme.example/#x\"\n", wantErr: "fragment"},
		{name: "resource empty fragment", toml: "[profiles.g]\nresource = \"https://git.acme.example/#\"\n", wantErr: "fragment"},
		{name: "resource credentials", toml: "[profiles.g]\nresource = \"https://u:p@git.acme.example\"\n", wantErr: "credentials"},
		{name: "resource two URIs", toml: "[profiles.g]\nresource = \"https://a.example https://b.example\"\n", wantErr: "one URI"},
		{name: "resource padded", toml: "[profiles.g]\nresource = \" https://a.example\"\n", wantErr: "one URI"},
		{name: "token_env with dash", toml: "[profiles.g]\ntoken_env = \"CI-TOKEN\"\n", wantErr: "profiles.g: token_env \"CI-TOKEN\" is not an environment variable name"},
		{name: "token_env leading digit", toml: "[profiles.g]\ntoken_env = \"1TOKEN\"\n", wantErr: "not an environment variable name"},
		{name: "token_env with $", toml: "[profiles.g]\ntoken_env = \"$TOKEN\"\n", wantErr: "not an environment variable name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "config.toml")
			os.WriteFile(p, []byte(tc.toml), 0o600)
			c, err := Load(p)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
	if c, err := Load(filepath.Join(t.TempDir(), "missing.toml")); err != nil || len(c.Profiles) != 0 {
		t.Fatalf("missing file: %v %v", c, err)
	}
}

func TestMentions(t *testing.T) {
	raw := []byte(`[profiles.a]
git = ["https://Git.Acme.example/"]
docker = ["127.0.0.1:5000", "[::1]:5001"]
`)
	tests := []struct {
		host string
		want bool
	}{
		{"git.acme.example", true},
		{"GIT.ACME.EXAMPLE:443", true},
		{"127.0.0.1:5000", true},
		{"127.0.0.1", true},
		{"[::1]:5001", true},
		{"github.com", false},
		{"index.docker.io", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := Mentions(raw, tc.host); got != tc.want {
			t.Errorf("Mentions(%q) = %v, want %v", tc.host, got, tc.want)
		}
	}
	// A TOML escape may spell any host; doubled backslashes and control
	// escapes spell none.
	for _, tc := range []struct {
		text string
		want bool
	}{
		{`git = ["https://gith\u0075b.com/"]`, true},
		{`git = ["https://gith\U00000075b.com/"]`, true},
		{"git = [\"\"\"https://git\\\n  hub.com/\"\"\"]", true},
		{`ca_bundle = "C:\\certs\\ca.pem"`, false},
		{`ca_bundle = "C:\\u\\ca.pem"`, false},
		{`username = "tab\there"`, false},
		{`ca_bundle = 'C:\Users\ca.pem'`, true}, // a literal string; harmless, only slower
	} {
		if got := Mentions([]byte(tc.text), "github.com"); got != tc.want {
			t.Errorf("Mentions(%s, github.com) = %v, want %v", tc.text, got, tc.want)
		}
	}
}
