package protocol

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

const marker = "s3cr3t-MARKER"

// checkSafeError is the rule for every error in this package: one line, and
// no secret from the input.
func checkSafeError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n") {
		t.Fatalf("error is not one line: %q", msg)
	}
	if strings.Contains(msg, marker) || strings.Contains(msg, "MARKER") {
		t.Fatalf("error leaks a secret: %q", msg)
	}
}

func TestDecodeGit(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want GitRequest
	}{
		{
			name: "minimal",
			in:   "protocol=https\nhost=git.example\n",
			want: GitRequest{Protocol: "https", Host: "git.example"},
		},
		{
			name: "blank line ends the block, the rest is ignored",
			in:   "protocol=https\nhost=git.example\n\nusername=ignored\n",
			want: GitRequest{Protocol: "https", Host: "git.example"},
		},
		{
			name: "no final newline",
			in:   "protocol=https\nhost=git.example",
			want: GitRequest{Protocol: "https", Host: "git.example"},
		},
		{
			name: "everything git 2.46 sends, in its order",
			in: "capability[]=authtype\ncapability[]=state\nauthtype=Bearer\ncredential=" + marker + "\nephemeral=1\n" +
				"protocol=https\nhost=git.example:8443\npath=org/repo.git\nusername=alice\npassword=" + marker + "\n" +
				"oauth_refresh_token=r\npassword_expiry_utc=1800000000\n" +
				"wwwauth[]=Basic realm=\"x\"\nwwwauth[]=Bearer realm=\"y\"\ncontinue=1\nstate[]=helper:abc\n",
			want: GitRequest{
				Protocol: "https", Host: "git.example:8443", Path: "org/repo.git",
				Username: "alice", Password: marker, PasswordExpiry: 1800000000,
				Capabilities: []string{"authtype", "state"},
				AuthType:     "Bearer", Credential: marker,
				WWWAuth: []string{`Basic realm="x"`, `Bearer realm="y"`},
			},
		},
		{
			name: "unknown keys ignored",
			in:   "protocol=https\nfuture_key=1\nx[]=2\n=empty key\nhost=git.example\n",
			want: GitRequest{Protocol: "https", Host: "git.example"},
		},
		{
			name: "empty key[] clears the list",
			in:   "protocol=https\nhost=h\nwwwauth[]=a\nwwwauth[]=\nwwwauth[]=b\ncapability[]=authtype\ncapability[]=\n",
			want: GitRequest{Protocol: "https", Host: "h", WWWAuth: []string{"b"}},
		},
		{
			name: "single-valued keys: last wins",
			in:   "protocol=http\nprotocol=https\nhost=a\nhost=b\nusername=u1\nusername=u2\n",
			want: GitRequest{Protocol: "https", Host: "b", Username: "u2"},
		},
		{
			name: "value keeps everything after the first =",
			in:   "protocol=https\nhost=h\npassword=a=b==\n",
			want: GitRequest{Protocol: "https", Host: "h", Password: "a=b=="},
		},
		{
			name: "CRLF tolerated like git's strbuf_getline",
			in:   "protocol=https\r\nhost=git.example\r\npassword=p\r\n\r\nignored\n",
			want: GitRequest{Protocol: "https", Host: "git.example", Password: "p"},
		},
		{
			name: "bad or overflowing expiry means never",
			in:   "protocol=https\nhost=h\npassword_expiry_utc=99999999999999999999\n",
			want: GitRequest{Protocol: "https", Host: "h"},
		},
		{
			name: "garbage expiry means never",
			in:   "protocol=https\nhost=h\npassword_expiry_utc=soon\n",
			want: GitRequest{Protocol: "https", Host: "h"},
		},
		{
			name: "cert protocol has an empty host",
			in:   "protocol=cert\nhost=\npath=/home/a/cert.pem\n",
			want: GitRequest{Protocol: "cert", Path: "/home/a/cert.pem"},
		},
		{
			name: "IPv6 host",
			in:   "protocol=https\nhost=[::1]:3000\n",
			want: GitRequest{Protocol: "https", Host: "[::1]:3000"},
		},
		{
			name: "password bytes are not checked for UTF-8",
			in:   "protocol=https\nhost=h\npassword=\xff\xfe\n",
			want: GitRequest{Protocol: "https", Host: "h", Password: "\xff\xfe"},
		},
		{
			name: "longest allowed line",
			in:   "protocol=https\nhost=h\npassword=" + strings.Repeat("a", maxGitLine-len("password=")-1) + "\n",
			want: GitRequest{Protocol: "https", Host: "h", Password: strings.Repeat("a", maxGitLine-len("password=")-1)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeGit(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("DecodeGit: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestDecodeGitRejects(t *testing.T) {
	long := strings.Repeat("a", maxGitLine-len("password=")) // one byte too many with the newline
	tests := []struct {
		name, in, wantErr string
	}{
		{"empty input", "", "no protocol"},
		{"missing protocol", "host=h\n", "no protocol"},
		{"empty protocol", "protocol=\nhost=h\n", "no protocol"},
		{"missing host", "protocol=https\n", "no host"},
		{"empty host", "protocol=https\nhost=\n", "no host"},
		{"line without =", "protocol=https\n" + marker + "\nhost=h\n", "line 2 is not key=value"},
		{"NUL in value", "protocol=https\nhost=h\npassword=" + marker + "\x00x\n", "line 3 contains a NUL byte"},
		{"NUL in key", "protocol=https\nhost=h\nx\x00=1\n", "NUL"},
		{"NUL in line without =", "protocol=https\nhost=h\n\x00" + marker + "\n", "NUL"},
		{"line too long", "protocol=https\nhost=h\npassword=" + long + "\n", "line 3: longer than 65535 bytes"},
		{"unterminated line too long", "protocol=https\nhost=h\npassword=" + long, "longer than 65535"},
		{"line far too long", "protocol=https\npassword=" + strings.Repeat(marker, 10000) + "\n", "longer than 65535"},
		{"input over 1 MiB", strings.Repeat("x=1234567\n", MaxInput/10+1), "larger than 1 MiB"},
		{"bare CR in value", "protocol=https\nhost=h\npassword=" + marker + "\rhost=evil\n", "value of password contains a carriage return"},
		{"CR at EOF", "protocol=https\nhost=h\r", "carriage return"},
		{"CR in unknown key value names no key", "protocol=https\nhost=h\n" + marker + "=a\rb\n", "value of an unknown key"},
		{"invalid UTF-8 host", "protocol=https\nhost=\xff.example\n", "host is not valid UTF-8"},
		{"invalid UTF-8 path", "protocol=https\nhost=h\npath=\xc3\x28\n", "path is not valid UTF-8"},
		{"invalid UTF-8 username", "protocol=https\nhost=h\nusername=\xff\n", "username is not valid UTF-8"},
		{"protocol not a scheme", "protocol=ht tp\nhost=h\n", "not a URL scheme"},
		{"host with slash", "protocol=https\nhost=trusted.example/x.evil.example\n", "not allowed in a host"},
		{"host with userinfo", "protocol=https\nhost=a@h\n", "not allowed in a host"},
		{"host with tab", "protocol=https\nhost=h\tx\n", "not allowed in a host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeGit(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("DecodeGit accepted %q", tt.in)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q, want it to mention %q", err, tt.wantErr)
			}
			checkSafeError(t, err)
		})
	}
}

// An endless line must fail without being buffered whole.
func TestDecodeGitEndlessLine(t *testing.T) {
	r := &endless{}
	_, err := DecodeGit(r)
	if err == nil || !strings.Contains(err.Error(), "longer than 65535") {
		t.Fatalf("err = %v", err)
	}
	if r.n > 2*maxGitLine {
		t.Fatalf("read %d bytes before giving up", r.n)
	}
}

type endless struct{ n int }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	e.n += len(p)
	return len(p), nil
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("read " + marker + "\nboom") }

func TestDecodeReadErrors(t *testing.T) {
	_, err := DecodeGit(failingReader{})
	if err == nil {
		t.Fatal("no error")
	}
	checkSafeError(t, err)
	_, err = DecodeDockerServerURL(failingReader{})
	checkSafeError(t, err)
	_, err = DecodeDockerStore(failingReader{})
	checkSafeError(t, err)
	_, err = DecodeTerraformStore(failingReader{})
	checkSafeError(t, err)
}

func TestGitURLAndHas(t *testing.T) {
	tests := []struct {
		req  GitRequest
		want string
	}{
		{GitRequest{Protocol: "https", Host: "git.example"}, "https://git.example/"},
		{GitRequest{Protocol: "HTTPS", Host: "Git.Example:8443", Path: "Org/Repo.git"}, "https://git.example:8443/Org/Repo.git"},
		{GitRequest{Protocol: "https", Host: "h", Path: "/a/b"}, "https://h/a/b"},
		{GitRequest{Protocol: "cert", Path: "/home/a/c.pem"}, "cert:///home/a/c.pem"},
	}
	for _, tt := range tests {
		if got := tt.req.URL(); got != tt.want {
			t.Errorf("URL() = %q, want %q", got, tt.want)
		}
	}
	r := GitRequest{Capabilities: []string{"authtype", "state"}}
	if !r.Has("authtype") || !r.Has("state") || r.Has("auth") || (GitRequest{}).Has("authtype") {
		t.Fatal("Has is wrong")
	}
}

func TestEncodeGit(t *testing.T) {
	exp := time.Unix(1800000000, 0)
	plain := GitRequest{Protocol: "https", Host: "h"}
	authtype := GitRequest{Protocol: "https", Host: "h", Capabilities: []string{"state", "authtype"}}
	tests := []struct {
		name string
		req  GitRequest
		a    GitAnswer
		want string
	}{
		{"basic", plain, GitAnswer{Username: "oauth2", Password: "tok"},
			"username=oauth2\npassword=tok\n"},
		{"with expiry", plain, GitAnswer{Username: "oauth2", Password: "tok", Expiry: exp.In(time.FixedZone("X", 3600))},
			"username=oauth2\npassword=tok\npassword_expiry_utc=1800000000\n"},
		{"no username", plain, GitAnswer{Password: "tok"},
			"password=tok\n"},
		{"authtype capability", authtype, GitAnswer{Username: "oauth2", Password: "tok", Expiry: exp},
			"capability[]=authtype\nauthtype=Bearer\ncredential=tok\nephemeral=1\nusername=oauth2\npassword=tok\npassword_expiry_utc=1800000000\n"},
		{"password with = and spaces", plain, GitAnswer{Username: "u", Password: "a= b"},
			"username=u\npassword=a= b\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := EncodeGit(&b, tt.req, tt.a); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Fatalf("got  %q\nwant %q", b.String(), tt.want)
			}
			if strings.Contains(b.String(), "url=") || strings.Contains(b.String(), "quit=") {
				t.Fatal("wrote url= or quit=")
			}
		})
	}
}

func TestEncodeGitRejects(t *testing.T) {
	req := GitRequest{Protocol: "https", Host: "h"}
	tests := []struct {
		name string
		a    GitAnswer
	}{
		{"empty password", GitAnswer{Username: "u"}},
		{"newline in password", GitAnswer{Password: marker + "\nurl=https://evil"}},
		{"CR in password", GitAnswer{Password: marker + "\r"}},
		{"NUL in password", GitAnswer{Password: marker + "\x00"}},
		{"newline in username", GitAnswer{Username: "u\nquit=1", Password: marker}},
		{"expiry before 1970", GitAnswer{Password: marker, Expiry: time.Unix(-5, 0)}},
		{"password line too long", GitAnswer{Password: strings.Repeat("a", maxGitLine-len("password="))}},
		{"expiry at epoch", GitAnswer{Password: marker, Expiry: time.Unix(0, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := EncodeGit(&b, req, tt.a)
			if err == nil {
				t.Fatal("accepted")
			}
			if b.Len() != 0 {
				t.Fatalf("wrote %q despite the error", b.String())
			}
			checkSafeError(t, err)
		})
	}
}

// The line bound holds for the answer too: the longest password git can send
// us is answered without authtype, and refused with it, where it would be
// written after the longer "credential=".
func TestEncodeGitLongestPassword(t *testing.T) {
	pw := strings.Repeat("a", maxGitLine-len("password=")-1)
	req, err := DecodeGit(strings.NewReader("protocol=https\nhost=h\npassword=" + pw + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := EncodeGit(io.Discard, req, GitAnswer{Password: req.Password}); err != nil {
		t.Fatal(err)
	}
	req.Capabilities = []string{"authtype"}
	if err := EncodeGit(io.Discard, req, GitAnswer{Password: req.Password}); err == nil {
		t.Fatal("wrote a credential= line longer than git reads")
	}
}

// What EncodeGit writes must read back as the same credential.
func TestGitRoundTrip(t *testing.T) {
	req := GitRequest{Protocol: "https", Host: "h", Capabilities: []string{"authtype"}}
	a := GitAnswer{Username: "oauth2", Password: "eyJ.a=b.c", Expiry: time.Unix(1800000000, 0)}
	var b bytes.Buffer
	if err := EncodeGit(&b, req, a); err != nil {
		t.Fatal(err)
	}
	got, err := DecodeGit(strings.NewReader("protocol=https\nhost=h\n" + b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if got.Username != a.Username || got.Password != a.Password || got.Credential != a.Password ||
		got.AuthType != "Bearer" || got.PasswordExpiry != a.Expiry.Unix() || !got.Has("authtype") {
		t.Fatalf("round trip: %#v", got)
	}
}

func FuzzDecodeGit(f *testing.F) {
	seeds := []string{
		"protocol=https\nhost=git.example\n",
		"protocol=https\nhost=git.example\nusername=alice\npassword=" + marker + "\n\n",
		"capability[]=authtype\ncapability[]=state\nauthtype=Bearer\ncredential=" + marker + "\nephemeral=1\nprotocol=https\nhost=h:1\npath=a/b\nwwwauth[]=Bearer\nwwwauth[]=\nstate[]=x\ncontinue=1\npassword_expiry_utc=1800000000\n",
		"protocol=https\r\nhost=h\r\npassword=" + marker + "\r\n",
		"protocol=https\nhost=h\npassword=" + marker + "\rquit=1\n",
		"protocol=https\n" + marker + "\n",
		"protocol=https\nhost=h\npassword=" + marker + "\x00\n",
		"protocol=cert\nhost=\npath=/x\n",
		"protocol=https\nhost=\xff\n",
		"host=h\npassword=" + marker + "\n",
		"",
		"\n",
		"=\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		req, err := DecodeGit(bytes.NewReader(in))
		if err != nil {
			checkSafeError(t, err)
			return
		}
		if req.Protocol == "" {
			t.Fatal("accepted a request without protocol")
		}
		_ = req.URL()
		// Answering with the request's own credential must give lines that
		// git (and we) read back to the same values.
		for _, caps := range [][]string{nil, {"authtype"}} {
			req.Capabilities = caps
			var b bytes.Buffer
			a := GitAnswer{Username: req.Username, Password: req.Password}
			if err := EncodeGit(&b, req, a); err != nil {
				checkSafeError(t, err)
				if req.Password != "" && len(req.Password)+len("credential=") < maxGitLine {
					t.Fatalf("could not answer with a decoded password: %v", err)
				}
				continue
			}
			back, err := DecodeGit(strings.NewReader("protocol=https\nhost=h\n" + b.String()))
			if err != nil {
				t.Fatalf("answer does not decode again: %v\n%q", err, b.String())
			}
			if back.Password != a.Password || back.Username != a.Username {
				t.Fatalf("round trip changed the credential: %q", b.String())
			}
		}
	})
}
