package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestDecodeDockerServerURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://index.docker.io/v1/", "https://index.docker.io/v1/"},
		{"registry.example:5000", "registry.example:5000"},
		{"  registry.example\n", "registry.example"},
		{"\r\nhttps://registry.example/v2/\r\n", "https://registry.example/v2/"},
	}
	for _, tt := range tests {
		got, err := DecodeDockerServerURL(strings.NewReader(tt.in))
		if err != nil || got != tt.want {
			t.Errorf("DecodeDockerServerURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestDecodeDockerServerURLRejects(t *testing.T) {
	tests := []struct {
		name, in string
		want     error  // exact sentinel, or nil
		wantText string // otherwise a fragment
	}{
		{"empty", "", ErrDockerMissingURL, ""},
		{"blank", " \n\t", ErrDockerMissingURL, ""},
		{"NUL", "registry.example\x00" + marker, nil, "control character"},
		{"inner newline", "registry.example\n" + marker, nil, "control character"},
		{"invalid UTF-8", "registry.\xff" + marker, nil, "not valid UTF-8"},
		{"oversize", strings.Repeat("a", MaxInput+1), nil, "larger than 1 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeDockerServerURL(strings.NewReader(tt.in))
			if err == nil {
				t.Fatal("accepted")
			}
			if tt.want != nil {
				if !errors.Is(err, tt.want) || err.Error() != tt.want.Error() {
					t.Fatalf("err = %q, want %q", err, tt.want)
				}
			} else if !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("err = %q, want it to mention %q", err, tt.wantText)
			}
			checkSafeError(t, err)
		})
	}
	if DockerMissingURL != "no credentials server URL" || DockerMissingUsername != "no credentials username" ||
		DockerNotFound != "credentials not found in native keychain" {
		t.Fatal("the fixed strings changed; docker compares them byte for byte")
	}
}

func TestDecodeDockerStore(t *testing.T) {
	tests := []struct {
		name, in string
		want     DockerCredentials
	}{
		{"as docker sends it",
			`{"ServerURL":"https://index.docker.io/v1/","Username":"alice","Secret":"` + marker + `"}`,
			DockerCredentials{"https://index.docker.io/v1/", "alice", marker}},
		{"keys are case-insensitive like encoding/json",
			`{"serverurl":"r.example","USERNAME":"<token>","secret":"t"}`,
			DockerCredentials{"r.example", "<token>", "t"}},
		{"unknown keys and whitespace",
			"\n {\"ServerURL\": \"r.example\", \"Username\": \"u\", \"Secret\": \"\", \"Extra\": [1]}\n",
			DockerCredentials{"r.example", "u", ""}},
		{"escapes decoded",
			`{"ServerURL":"r.example","Username":"u","Secret":"a\"b\\c\u00e9"}`,
			DockerCredentials{"r.example", "u", "a\"b\\cé"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeDockerStore(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestDecodeDockerStoreRejects(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
		wantText string
	}{
		{"missing ServerURL", `{"Username":"u","Secret":"` + marker + `"}`, ErrDockerMissingURL, ""},
		{"empty ServerURL", `{"ServerURL":"","Username":"u","Secret":"` + marker + `"}`, ErrDockerMissingURL, ""},
		{"missing Username", `{"ServerURL":"r","Secret":"` + marker + `"}`, ErrDockerMissingUsername, ""},
		{"null", `null`, nil, "not a JSON object"},
		{"empty", ``, nil, "is empty"},
		{"array", `[]`, nil, "not a JSON object"},
		{"invalid JSON", `{"ServerURL":"r","Username":"u","Secret":"` + marker + `}`, nil, "not valid JSON"},
		{"bad char after secret", `{"ServerURL":"r","Username":"u","Secret":"x"` + marker + `}`, nil, "not valid JSON"},
		{"trailing data", `{"ServerURL":"r","Username":"u"} {"Secret":"` + marker + `"}`, nil, "not valid JSON"},
		{"wrong type", `{"ServerURL":"r","Username":"u","Secret":["` + marker + `"]}`, nil, "wrong type"},
		{"raw NUL", "{\"ServerURL\":\"r\",\"Username\":\"u\",\"Secret\":\"" + marker + "\x00\"}", nil, "NUL"},
		{"escaped NUL", `{"ServerURL":"r","Username":"u","Secret":"` + marker + `\u0000"}`, nil, "Secret contains NUL"},
		{"invalid UTF-8", "{\"ServerURL\":\"r\",\"Username\":\"u\",\"Secret\":\"" + marker + "\xff\"}", nil, "not valid UTF-8"},
		{"control char in URL", `{"ServerURL":"r\n","Username":"u","Secret":"` + marker + `"}`, nil, "control character"},
		{"oversize", `{"ServerURL":"r","Username":"u","Secret":"` + strings.Repeat(marker, MaxInput/len(marker)+1) + `"}`, nil, "larger than 1 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeDockerStore(strings.NewReader(tt.in))
			if err == nil {
				t.Fatal("accepted")
			}
			if tt.want != nil {
				if err.Error() != tt.want.Error() {
					t.Fatalf("err = %q, want exactly %q", err, tt.want)
				}
			} else if !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("err = %q, want it to mention %q", err, tt.wantText)
			}
			checkSafeError(t, err)
		})
	}
}

func TestEncodeDocker(t *testing.T) {
	var b bytes.Buffer
	err := EncodeDockerCredentials(&b, DockerCredentials{"https://index.docker.io/v1/", "<token>", "a<b>&\"c"})
	if err != nil {
		t.Fatal(err)
	}
	// Exactly what the reference helper's json.Encoder writes.
	want := `{"ServerURL":"https://index.docker.io/v1/","Username":"\u003ctoken\u003e","Secret":"a\u003cb\u003e\u0026\"c"}` + "\n"
	if b.String() != want {
		t.Fatalf("got  %q\nwant %q", b.String(), want)
	}
	back, err := DecodeDockerStore(&b)
	if err != nil || back.Secret != "a<b>&\"c" || back.Username != "<token>" {
		t.Fatalf("round trip: %#v %v", back, err)
	}

	b.Reset()
	if err := EncodeDockerCredentials(&b, DockerCredentials{"r", "u", "\xff"}); err == nil || b.Len() != 0 {
		t.Fatalf("invalid UTF-8 secret: err %v, wrote %q", err, b.String())
	}

	tests := []struct {
		in   map[string]string
		want string
	}{
		{nil, "{}\n"},
		{map[string]string{}, "{}\n"},
		{map[string]string{"registry.b.example": "oauth2", "https://index.docker.io/v1/": "<token>"},
			`{"https://index.docker.io/v1/":"\u003ctoken\u003e","registry.b.example":"oauth2"}` + "\n"},
	}
	for _, tt := range tests {
		b.Reset()
		if err := EncodeDockerList(&b, tt.in); err != nil {
			t.Fatal(err)
		}
		if b.String() != tt.want {
			t.Errorf("EncodeDockerList(%v) = %q, want %q", tt.in, b.String(), tt.want)
		}
	}
}

func TestEncodeDockerListRejects(t *testing.T) {
	for _, m := range []map[string]string{{"r\xff": "u"}, {"r": "u\xff"}} {
		var b bytes.Buffer
		err := EncodeDockerList(&b, m)
		if err == nil || b.Len() != 0 {
			t.Fatalf("%q: err %v, wrote %q", m, err, b.String())
		}
		checkSafeError(t, err)
	}
}

func TestEncodeDockerError(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{ErrDockerNotFound, "credentials not found in native keychain\n"},
		{ErrDockerMissingURL, "no credentials server URL\n"},
		{fmt.Errorf("wrapped: %w", ErrDockerMissingUsername), "wrapped: no credentials username\n"},
		{errors.New("two\nlines\r\nhere"), "two lines here\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := EncodeDockerError(&b, tt.err); err != nil {
			t.Fatal(err)
		}
		if b.String() != tt.want {
			t.Errorf("got %q, want %q", b.String(), tt.want)
		}
	}
	if err := EncodeDockerError(&bytes.Buffer{}, nil); err == nil {
		t.Error("nil error accepted")
	}
}

func TestDockerRegistryHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://index.docker.io/v1/", "index.docker.io"},
		{"docker.io", "index.docker.io"},
		{"registry-1.docker.io", "index.docker.io"},
		{"https://registry-1.docker.io/v2/", "index.docker.io"},
		{"registry.example:5000", "registry.example:5000"},
		{"https://registry.example/v2/", "registry.example"},
		{"http://Registry.Example:8080/v1/", "registry.example:8080"},
		{"HTTPS://registry.example", "registry.example"},
		{"user:pw@registry.example/x", "registry.example"},
		{"registry.example?x=1", "registry.example"},
		{"[::1]:5000", "[::1]:5000"},
		{" registry.example\n", "registry.example"},
		{"", ""},
		{"https://", ""},
		{"ftp://registry.example", ""},
		{"registry example", ""},
		{"reg\x00istry", ""},
	}
	for _, tt := range tests {
		if got := DockerRegistryHost(tt.in); got != tt.want {
			t.Errorf("DockerRegistryHost(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzDecodeDockerServerURL(f *testing.F) {
	for _, s := range []string{
		"https://index.docker.io/v1/", "registry.example:5000", " x \n", "", "\x00" + marker,
		"a\n" + marker, "\xff" + marker,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := DecodeDockerServerURL(bytes.NewReader(in))
		if err != nil {
			checkSafeError(t, err)
			return
		}
		if s == "" || s != strings.TrimSpace(s) || hasControl(s) {
			t.Fatalf("bad server URL %q", s)
		}
		_ = DockerRegistryHost(s)
	})
}

func FuzzDecodeDockerStore(f *testing.F) {
	for _, s := range []string{
		`{"ServerURL":"https://index.docker.io/v1/","Username":"alice","Secret":"` + marker + `"}`,
		`{"serverurl":"r","username":"<token>","secret":"` + marker + `"}`,
		`{"ServerURL":"r","Secret":"` + marker + `"}`,
		`{"ServerURL":"r","Username":"u","Secret":"` + marker + `}`,
		`{"ServerURL":"r","Username":"u","Secret":"x"` + marker + `}`,
		`{"ServerURL":"r","Username":"u","Secret":` + marker + `}`,
		`{"ServerURL":"r","Username":"u","Secret":["` + marker + `"]}`,
		`{"ServerURL":"r","Username":"u","Secret":"` + marker + `\u0000"}`,
		"{\"ServerURL\":\"r\",\"Username\":\"u\",\"Secret\":\"" + marker + "\xff\"}",
		`null`, `[]`, ``, `{}`, `{"a":1} x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := DecodeDockerStore(bytes.NewReader(in))
		if err != nil {
			checkSafeError(t, err)
			return
		}
		if c.ServerURL == "" || c.Username == "" {
			t.Fatalf("accepted incomplete credentials %#v", c)
		}
		// What we accept we can hand back unchanged.
		var b bytes.Buffer
		if err := EncodeDockerCredentials(&b, c); err != nil {
			t.Fatalf("cannot encode accepted credentials: %v", err)
		}
		back, err := DecodeDockerStore(&b)
		if err != nil || back != c {
			t.Fatalf("round trip: %#v, %v", back, err)
		}
	})
}
