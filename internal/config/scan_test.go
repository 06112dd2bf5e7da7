package config

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// manyProfiles is a config.toml of n profiles in the shape setup and the
// README write; profile i serves git.i.example, reg.i.example, tf.i.example.
func manyProfiles(n int) []byte {
	var b strings.Builder
	b.WriteString("default_profile = \"p0\"\n\n[cache]\nbackend = \"auto\"\n\n[prompt]\nqr = false\n")
	for i := range n {
		fmt.Fprintf(&b, `
[profiles.p%[1]d]
server    = "https://sso.example"
org       = "org%[1]d"
service   = "cli"
client_id = "client-%[1]d"
git       = ["https://git.%[1]d.example/"]
docker    = ["reg.%[1]d.example"]
terraform = ["tf.%[1]d.example"]
`, i)
	}
	return []byte(b.String())
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name, toml string
		ok         bool
		profiles   []string
	}{
		{"empty", "", true, nil},
		{"plain", "default_profile = \"a\"\n[profiles.a]\nserver = \"x\"\n[cache]\nbackend = \"auto\"\n[profiles.b]\norg = \"o\"\n", true, []string{"a", "b"}},
		{"quoted names, spaces, comments, CRLF", "# c\r\n[ profiles . \"a.b\" ] # t\r\nserver = \"x\" # [profiles.z]\r\n[profiles.'c']\r\n", true, []string{"a.b", "c"}},
		// No field takes a nested array, so a file Parse accepts has no
		// line starting with "[" but headers: one that is not is refused.
		{"multi-line array with a line starting with [", "[profiles.a]\ngit = [\n  \"https://a/\", # x\n  [\"nested\"],\n]\n[profiles.b]\n", false, nil},
		{"multi-line array", "[profiles.a]\ngit = [\n  \"https://a/\", # [x]\n  \"https://b/\",\n]\n[profiles.b]\n", true, []string{"a", "b"}},
		{"inline table on one line", "[profiles.a]\nx = {y = [1]}\n", true, []string{"a"}},
		{"escaped quote in a string", "[profiles.a]\nserver = \"a\\\"[profiles.b]\"\n", true, []string{"a"}},
		{"multi-line basic string", "[profiles.a]\nserver = \"\"\"\n[profiles.b]\n\"\"\"\n", false, nil},
		{"multi-line literal string", "[profiles.a]\nserver = '''\n[profiles.b]\n'''\n", false, nil},
		{"unclosed string: an error, no string going on", "[profiles.a]\nserver = \"x\n[profiles.b]\n", true, []string{"a", "b"}},
		// Mistakes inside a table cannot move a header: the decode of that
		// table finds them.
		{"inline table spanning lines", "[profiles.a]\nx = {y = [\n]}\n", true, []string{"a"}},
		{"unclosed array", "[profiles.a]\ngit = [\n", true, []string{"a"}},
		{"array of tables", "[[profiles]]\n", false, nil},
		{"[profiles] table", "[profiles]\na = {server = \"x\"}\n", false, nil},
		{"sub-table of a profile", "[profiles.a.b]\n", false, nil},
		{"other table", "[other]\n", false, nil},
		{"duplicate profile: split, for the decode to refuse", "[profiles.a]\n[profiles.\"a\"]\n", true, []string{"a", "a"}},
		{"duplicate cache", "[cache]\n[cache]\n", false, nil},
		{"dotted top-level key", "profiles.a.server = \"x\"\n", false, nil},
		{"quoted top-level key", "\"profiles\" = {}\n", false, nil},
		{"inline profiles at top level", "profiles = {a = {server = \"x\"}}\n", false, nil},
		{"escape in a header name", "[profiles.\"a\\u0062\"]\n", false, nil},
		{"text after a header", "[profiles.a] x = 1\n", false, nil},
		{"bare line", "[profiles.a]\nserver\n", true, []string{"a"}},
		{"indented header", "[profiles.a]\n  \t[profiles.b]\n", true, []string{"a", "b"}},
		{"multi-line string in a comment", "[profiles.a]\n# '''\n", false, nil},
		{"unclosed top-level array", "x = [\n", false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, ok := split([]byte(tc.toml))
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			var names []string
			for _, s := range l.profiles {
				names = append(names, string(s.name))
			}
			if !reflect.DeepEqual(names, tc.profiles) {
				t.Fatalf("profiles %q, want %q", names, tc.profiles)
			}
		})
	}
}

func TestParseFor(t *testing.T) {
	raw := manyProfiles(50)
	full, err := Parse("config.toml", raw)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		need Need
		want []string
	}{
		{"nothing needed: default_profile only", Need{}, []string{"p0"}},
		{"by name", Need{Profiles: []string{"p7", "", "nope"}}, []string{"p0", "p7"}},
		{"by git host", Need{Hosts: []string{"git.12.example"}}, []string{"p0", "p12"}},
		{"by docker host, any case", Need{Hosts: []string{"REG.3.EXAMPLE"}}, []string{"p0", "p3"}},
		{"a host mentioned nowhere", Need{Hosts: []string{"github.com"}}, []string{"p0"}},
		{"host and name", Need{Profiles: []string{"p40"}, Hosts: []string{"tf.41.example:443"}}, []string{"p0", "p40", "p41"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseFor("config.toml", raw, tc.need)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.ProfileNames(); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("profiles %v, want %v", got, tc.want)
			}
			for _, n := range tc.want {
				if !reflect.DeepEqual(c.Profiles[n], full.Profiles[n]) {
					t.Errorf("profile %s = %+v, want %+v", n, c.Profiles[n], full.Profiles[n])
				}
			}
			if c.DefaultProfile != full.DefaultProfile || !reflect.DeepEqual(c.Cache, full.Cache) || !reflect.DeepEqual(c.Prompt, full.Prompt) {
				t.Fatalf("top level %+v %+v %+v, want %+v %+v %+v", c.DefaultProfile, c.Cache, c.Prompt, full.DefaultProfile, full.Cache, full.Prompt)
			}
		})
	}
}

// TestParseForErrors: what ParseFor decodes is checked as strictly as by
// Parse, with the same line in the file; a mistake in a profile the
// request does not use goes unnoticed here, and Parse reports it.
func TestParseForErrors(t *testing.T) {
	const head = "default_profile = \"a\"\n\n[profiles.a]\nserver = \"https://a\"\ngit = [\"https://git.a.example/\"]\n\n"
	tests := []struct {
		name, toml string
		need       Need
		want       string // ParseFor's error; "" none
		wantFull   string // Parse's
	}{
		{"unknown key in a profile the request uses", head + "[profiles.b]\ngit = [\"https://git.b.example/\"]\nsevrer = \"x\"\n", Need{Hosts: []string{"git.b.example"}},
			"config config.toml line 9: unknown key profiles.b.sevrer", "config config.toml line 9: unknown key profiles.b.sevrer"},
		{"wrong type in a profile the request uses", head + "[profiles.b]\norg = 3\n", Need{Profiles: []string{"b"}},
			"config config.toml line 8: toml: cannot decode TOML integer", "config config.toml line 8: toml: cannot decode TOML integer"},
		{"unknown key in a profile the request does not use", head + "[profiles.b]\nsevrer = \"x\"\n", Need{Hosts: []string{"git.a.example"}},
			"", "config config.toml line 8: unknown key profiles.b.sevrer"},
		{"bad value in [cache], after profiles", head + "[profiles.b]\norg = \"b\"\n\n[cache]\nexpiry_margin = \"soon\"\n", Need{},
			"config config.toml line 11: toml: time: invalid duration", "config config.toml line 11: toml: time: invalid duration"},
		{"unknown top-level key", "defualt_profile = \"a\"\n" + head, Need{},
			"config config.toml line 1: unknown key defualt_profile", "config config.toml line 1: unknown key defualt_profile"},
		{"dangling default_profile", "default_profile = \"z\"\n[profiles.a]\n", Need{},
			"default_profile \"z\" names no [profiles.z] table", "default_profile \"z\" names no [profiles.z] table"},
		{"default profile malformed, not otherwise needed", "default_profile = \"b\"\n[profiles.a]\n[profiles.b]\norg = 1\n", Need{Profiles: []string{"a"}},
			"config config.toml line 4: toml: cannot decode TOML integer", "config config.toml line 4: toml: cannot decode TOML integer"},
		{"a profile the request uses, defined twice", head + "[profiles.b]\ngit = [\"https://git.b.example/\"]\n[profiles.a]\norg = \"o\"\n", Need{Hosts: []string{"git.b.example"}},
			"config config.toml line 9: toml: table a already exists", "config config.toml line 9: toml: table a already exists"},
		{"a profile the request does not use, defined twice", head + "[profiles.b]\n[profiles.b]\n", Need{Hosts: []string{"git.a.example"}},
			"", "config config.toml line 8: toml: table b already exists"},
		{"what the scan refuses is decoded whole", head + "[profiles.b]\nserver = \"\"\"\nx\"\"\"\nsevrer = 1\n", Need{Hosts: []string{"git.a.example"}},
			"config config.toml line 10: unknown key profiles.b.sevrer", "config config.toml line 10: unknown key profiles.b.sevrer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check := func(what string, err error, want string) {
				t.Helper()
				switch {
				case want == "" && err != nil:
					t.Errorf("%s: %v, want no error", what, err)
				case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
					t.Errorf("%s: %v, want %q", what, err, want)
				case err != nil && strings.Contains(err.Error(), "\n"):
					t.Errorf("%s: not one line: %q", what, err)
				}
			}
			_, err := ParseFor("config.toml", []byte(tc.toml), tc.need)
			check("ParseFor", err, tc.want)
			_, err = Parse("config.toml", []byte(tc.toml))
			check("Parse", err, tc.wantFull)
		})
	}
}

// checkAgainstParse is the property: for any config, what ParseFor decodes
// is what Parse decodes. When the scan accepts the file and every profile
// is needed, ParseFor is Parse (same error or same config); otherwise, when
// Parse succeeds, ParseFor succeeds with the same top level, a subset of
// the same profiles, every profile named, and every profile with a pattern
// containing a needed host.
func checkAgainstParse(t *testing.T, raw []byte, host string, name string) {
	t.Helper()
	full, ferr := Parse("c.toml", raw)
	if l, ok := split(raw); ok {
		var all []string
		for _, s := range l.profiles {
			all = append(all, string(s.name))
		}
		c, err := ParseFor("c.toml", raw, Need{Profiles: all})
		if (err == nil) != (ferr == nil) || err != nil && err.Error() != ferr.Error() {
			t.Fatalf("every profile needed: ParseFor error %v, Parse error %v\n%s", err, ferr, raw)
		}
		if err == nil && !reflect.DeepEqual(c, full) {
			t.Fatalf("every profile needed: ParseFor %+v, Parse %+v\n%s", c, full, raw)
		}
	}
	if ferr != nil {
		return
	}
	need := Need{Profiles: []string{name}, Hosts: []string{host}}
	c, err := ParseFor("c.toml", raw, need)
	if err != nil {
		t.Fatalf("Parse accepts, ParseFor(%+v): %v\n%s", need, err, raw)
	}
	if c.DefaultProfile != full.DefaultProfile || !reflect.DeepEqual(c.Cache, full.Cache) || !reflect.DeepEqual(c.Prompt, full.Prompt) {
		t.Fatalf("top level differs\n%s", raw)
	}
	for n, p := range c.Profiles {
		if fp, ok := full.Profiles[n]; !ok || !reflect.DeepEqual(p, fp) {
			t.Fatalf("profile %q = %+v, Parse has %+v\n%s", n, p, fp, raw)
		}
	}
	for n, p := range full.Profiles {
		_, got := c.Profiles[n]
		mentions := n == name || n == full.DefaultProfile
		// What the pre-filter looks for: the host without a port or
		// brackets (a pattern naming the host spells at least that).
		h := strings.ToLower(hostText(host))
		for _, pat := range append(append(append([]string{}, p.Git...), p.Docker...), p.Terraform...) {
			mentions = mentions || h != "" && strings.Contains(strings.ToLower(pat), h)
		}
		if mentions && !got {
			t.Fatalf("profile %q is needed (host %q, name %q) but not decoded\n%s", n, host, name, raw)
		}
	}
}

// Random configs: top-level lines, then tables, mostly of the plain
// shape, with every construct the scan must refuse or handle mixed in.
var (
	topLines = []string{"default_profile = \"a\"", "default_profile = \"b\"", "default_profile = 'c'", "profiles.a.org = \"o\"",
		"profiles = {a = {org = \"o\"}}", "cache.backend = \"file\"", "\"default_profile\" = \"a\"", "# [profiles.z]", ""}
	headers = []string{"[profiles.a]", "[profiles.b]", "[profiles.\"c\"]", "[ profiles . 'a.b' ]", "[profiles.'a']", "[profiles.d] # x",
		"[cache]", "[prompt]", "[profiles]", "[[profiles]]", "[profiles.a.x]", "[other]", "[profiles.\"g\\u0069t\"]"}
	plainLines = []string{"server = \"https://sso.example\"", "org = \"o\"", "client_id = 'id'", "service=\"s\"",
		"git = [\"https://git.a.example/\"]", "docker = [\"reg.a.example\", \"REG.B.EXAMPLE:5000\"]",
		"terraform = [\"tf.a.example\"] # [profiles.b]", "username = \"u\"\r", "# comment", "", "\t"}
	trickyLines = []string{"org = 1", "sevrer = \"x\"", "git = [", "\"https://git.b.example/\",", "[\"x\"],", "]",
		"username = \"\"\"", "[profiles.b]", "\"\"\"", "username = , ", "server = \"a\\\"b\"",
		"org = \"g\\u0069t.a.example\"", "x = {y = 1}", "x = {", "}", "backend = \"auto\"", "expiry_margin = \"5m\"",
		"expiry_margin = \"soon\"", "kernel_cache = \"0s\"", "allow_volatile_store = true", "qr = false", "open_browser = true",
		"a.b = 1", "\"git\" = [\"https://git.b.example/\"]"}
)

func randomConfig(r *rand.Rand) []byte {
	var b strings.Builder
	line := func(s string) { b.WriteString(s); b.WriteByte('\n') }
	for range r.IntN(3) {
		line(topLines[r.IntN(len(topLines))])
	}
	for range r.IntN(6) {
		line(headers[r.IntN(len(headers))])
		for range r.IntN(6) {
			if r.IntN(8) == 0 {
				line(trickyLines[r.IntN(len(trickyLines))])
			} else {
				line(plainLines[r.IntN(len(plainLines))])
			}
		}
	}
	return []byte(b.String())
}

func TestParseForMatchesParse(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	hosts := []string{"git.a.example", "git.b.example", "reg.b.example", "tf.a.example", "git.example", "github.com", ""}
	names := []string{"a", "b", "c", "a.b", ""}
	accepted, scanned := 0, 0 // valid; valid and split by the scan
	for range 40000 {
		raw := randomConfig(r)
		if c, err := Parse("c.toml", raw); err == nil && len(c.Profiles) > 1 {
			accepted++
			if _, ok := split(raw); ok {
				scanned++
			}
		}
		checkAgainstParse(t, raw, hosts[r.IntN(len(hosts))], names[r.IntN(len(names))])
	}
	if accepted < 500 || scanned < 250 {
		t.Fatalf("only %d of the random configs are valid with two profiles or more, %d of them split: the generator tests too little", accepted, scanned)
	}
}

func FuzzParseFor(f *testing.F) {
	f.Add(string(manyProfiles(3)), "git.1.example", "p2")
	f.Add("[profiles.a]\ngit = [\n\"https://x/\",\n]\n[profiles.b]\n", "x", "b")
	f.Add("[profiles.a]\nserver = \"\"\"\n[profiles.b]\n\"\"\"\n", "", "b")
	f.Fuzz(func(t *testing.T, raw, host, name string) {
		checkAgainstParse(t, []byte(raw), host, name)
	})
}

func BenchmarkParse(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		raw := manyProfiles(n)
		b.Run(fmt.Sprintf("Parse/%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := Parse("c.toml", raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("ParseFor/%d", n), func(b *testing.B) {
			need := Need{Hosts: []string{fmt.Sprintf("git.%d.example", n/2)}}
			for b.Loop() {
				if _, err := ParseFor("c.toml", raw, need); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
