package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/protocol"
)

// fakeCredentials answers like the use case would, and records each call
// as "Method arg…".
type fakeCredentials struct {
	calls []string
	// what to answer
	git       protocol.GitAnswer
	gitOK     bool
	docker    protocol.DockerCredentials
	list      map[string]string
	terraform helper.TerraformAnswer
	cred      helper.Credential
	dropped   helper.Dropped
	err       error
}

func (f *fakeCredentials) call(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeCredentials) GitGet(_ context.Context, sel helper.Selector, req protocol.GitRequest) (protocol.GitAnswer, bool, error) {
	f.call("GitGet %+v %s", sel, req.URL())
	return f.git, f.gitOK, f.err
}
func (f *fakeCredentials) GitErase(sel helper.Selector, req protocol.GitRequest) (helper.Dropped, error) {
	f.call("GitErase %+v %s %s", sel, req.URL(), req.Password)
	return f.dropped, f.err
}
func (f *fakeCredentials) DockerGet(_ context.Context, serverURL string) (protocol.DockerCredentials, error) {
	f.call("DockerGet %s", serverURL)
	return f.docker, f.err
}
func (f *fakeCredentials) DockerStore(c protocol.DockerCredentials) error {
	f.call("DockerStore %s %s", c.ServerURL, c.Username)
	return f.err
}
func (f *fakeCredentials) DockerErase(serverURL string) (helper.Dropped, error) {
	f.call("DockerErase %s", serverURL)
	return f.dropped, f.err
}
func (f *fakeCredentials) DockerList() (map[string]string, error) {
	f.call("DockerList")
	return f.list, f.err
}
func (f *fakeCredentials) TerraformGet(_ context.Context, sel helper.Selector, host string) (helper.TerraformAnswer, error) {
	f.call("TerraformGet %+v %s", sel, host)
	return f.terraform, f.err
}
func (f *fakeCredentials) TerraformStore(host string, c protocol.TerraformCredentials) error {
	f.call("TerraformStore %s %s", host, c.Raw)
	return f.err
}
func (f *fakeCredentials) TerraformForget(sel helper.Selector, host string) (helper.Dropped, error) {
	f.call("TerraformForget %+v %s", sel, host)
	return f.dropped, f.err
}
func (f *fakeCredentials) Token(_ context.Context, sel helper.Selector) (helper.Credential, error) {
	f.call("Token %+v", sel)
	return f.cred, f.err
}

const tok = "e30.eyJzdWIiOiJ1MSJ9.c2ln"

var expiry = time.Unix(1_800_000_000, 0).UTC()

// TestFrontEnds runs each client front end in process against the fake:
// what it decodes reaches the use case, and what the use case answers
// reaches the client byte for byte, with the protocol's exit status.
func TestFrontEnds(t *testing.T) {
	acme := helper.Identity{Profile: "acme", Org: "acme", Service: "cli", Server: "https://sso.acme.example"}
	missing := &helper.LoginRequiredError{Identity: acme}
	dropped := helper.Dropped{Identity: acme, Found: true}
	tests := []struct {
		name    string
		args    []string
		stdin   string
		env     map[string]string
		fake    fakeCredentials
		code    int
		stdout  string
		stderr  string
		calls   []string // nil: no call
		noCalls bool
	}{
		// git
		{name: "git get served", args: []string{"git-credential-authos", "get"},
			stdin: "protocol=https\nhost=git.acme.example\npath=team/repo.git\n\n",
			fake:  fakeCredentials{git: protocol.GitAnswer{Username: "oauth2", Password: tok, Expiry: expiry}, gitOK: true},
			code:  ExitOK, stdout: "username=oauth2\npassword=" + tok + "\npassword_expiry_utc=1800000000\n",
			calls: []string{"GitGet {Profile: Server: Org: Service: ClientID:} https://git.acme.example/team/repo.git"}},
		{name: "git get not ours is silent", args: []string{"git-credential-authos", "--profile", "acme", "get"},
			stdin: "protocol=https\nhost=other.example\n\n",
			code:  ExitOK, calls: []string{"GitGet {Profile:acme Server: Org: Service: ClientID:} https://other.example/"}},
		{name: "git get with authtype", args: []string{"authos-credential-helper", "git", "get"},
			stdin: "capability[]=authtype\nprotocol=https\nhost=git.acme.example\n\n",
			fake:  fakeCredentials{git: protocol.GitAnswer{Username: "oauth2", Password: tok}, gitOK: true},
			code:  ExitOK, stdout: "capability[]=authtype\nauthtype=Bearer\ncredential=" + tok + "\nephemeral=1\nusername=oauth2\npassword=" + tok + "\n",
			calls: []string{"GitGet {Profile: Server: Org: Service: ClientID:} https://git.acme.example/"}},
		{name: "git get miss nobody watching", args: []string{"git-credential-authos", "get"},
			stdin: "protocol=https\nhost=git.acme.example\n\n", fake: fakeCredentials{err: missing},
			code:   ExitFailure,
			stderr: "authos-credential-helper: no valid AuthOS token for acme/cli at sso.acme.example and no one to show a sign-in prompt to; run: authos-credential-helper login --profile acme\n",
			calls:  []string{"GitGet {Profile: Server: Org: Service: ClientID:} https://git.acme.example/"}},
		{name: "git erase", args: []string{"git-credential-authos", "erase"},
			stdin: "protocol=https\nhost=git.acme.example\npassword=" + tok + "\n\n",
			code:  ExitOK, stderr: "-", calls: []string{"GitErase {Profile: Server: Org: Service: ClientID:} https://git.acme.example/ " + tok}},
		{name: "git erase of our token says what it means", args: []string{"git-credential-authos", "erase"},
			stdin: "protocol=https\nhost=git.acme.example\npassword=" + tok + "\n\n", fake: fakeCredentials{dropped: dropped},
			code:   ExitOK,
			stderr: "authos: git reported the token for acme/cli at sso.acme.example rejected; dropped it, so the next command signs in again\n",
			calls:  []string{"GitErase {Profile: Server: Org: Service: ClientID:} https://git.acme.example/ " + tok}},
		{name: "git store does nothing", args: []string{"git-credential-authos", "store"},
			stdin: "protocol=https\nhost=git.acme.example\nusername=oauth2\npassword=" + tok + "\n\n", code: ExitOK, noCalls: true},
		{name: "git unknown verb ignored", args: []string{"git-credential-authos", "capabilities"}, code: ExitOK, noCalls: true},
		{name: "git bad input", args: []string{"git-credential-authos", "get"}, stdin: "host=git.acme.example\n\n",
			code: ExitFailure, noCalls: true},
		{name: "git no verb", args: []string{"git-credential-authos"}, code: ExitUsage, noCalls: true,
			stderr: "authos-credential-helper: git: want exactly one verb (get, store or erase) after the flags\n"},
		{name: "git bad flag", args: []string{"git-credential-authos", "--nope", "get"}, code: ExitUsage, noCalls: true,
			stderr: "authos-credential-helper: flag provided but not defined: -nope\n"},

		// docker
		{name: "docker get", args: []string{"docker-credential-authos", "get"}, stdin: "https://index.docker.io/v1/",
			fake: fakeCredentials{docker: protocol.DockerCredentials{ServerURL: "https://index.docker.io/v1/", Username: "oauth2", Secret: tok}},
			code: ExitOK, stdout: `{"ServerURL":"https://index.docker.io/v1/","Username":"oauth2","Secret":"` + tok + `"}` + "\n",
			calls: []string{"DockerGet https://index.docker.io/v1/"}},
		{name: "docker get not found", args: []string{"docker-credential-authos", "get"}, stdin: "registry.example\n",
			fake: fakeCredentials{err: protocol.ErrDockerNotFound},
			code: ExitFailure, stdout: "credentials not found in native keychain\n", calls: []string{"DockerGet registry.example"}},
		{name: "docker get failure", args: []string{"docker-credential-authos", "get"}, stdin: "registry.example",
			fake: fakeCredentials{err: errors.New("reading config: permission denied")},
			code: ExitFailure, stdout: "reading config: permission denied\n", stderr: "authos-credential-helper: reading config: permission denied\n",
			calls: []string{"DockerGet registry.example"}},
		{name: "docker get no URL", args: []string{"docker-credential-authos", "get"}, stdin: "\n",
			code: ExitFailure, stdout: "no credentials server URL\n", stderr: "authos-credential-helper: no credentials server URL\n", noCalls: true},
		{name: "docker store", args: []string{"docker-credential-authos", "store"},
			stdin: `{"ServerURL":"registry.example","Username":"bob","Secret":"s3cret"}`,
			code:  ExitOK, calls: []string{"DockerStore registry.example bob"}},
		{name: "docker store no username", args: []string{"docker-credential-authos", "store"},
			stdin: `{"ServerURL":"registry.example","Secret":"s3cret"}`,
			code:  ExitFailure, stdout: "no credentials username\n", stderr: "authos-credential-helper: no credentials username\n", noCalls: true},
		{name: "docker erase", args: []string{"docker-credential-authos", "erase"}, stdin: "registry.example",
			code: ExitOK, stderr: "-", calls: []string{"DockerErase registry.example"}},
		{name: "docker logout of a served registry drops the token", args: []string{"docker-credential-authos", "erase"}, stdin: "registry.acme.example",
			fake: fakeCredentials{dropped: dropped}, code: ExitOK,
			stderr: "authos: docker logout: dropped the cached token for acme/cli at sso.acme.example; every client using it (git, docker, kubectl, Terraform) signs in again at its next request; the session at AuthOS is not ended (to end it too, run: authos-credential-helper logout --profile acme)\n",
			calls:  []string{"DockerErase registry.acme.example"}},
		{name: "docker logout of a served registry with nothing cached", args: []string{"docker-credential-authos", "erase"}, stdin: "registry.acme.example",
			fake: fakeCredentials{dropped: helper.Dropped{Identity: acme}}, code: ExitOK, stderr: "-",
			calls: []string{"DockerErase registry.acme.example"}},
		{name: "docker list", args: []string{"docker-credential-authos", "list"}, stdin: "ignored",
			fake: fakeCredentials{list: map[string]string{"registry.example": "bob"}},
			code: ExitOK, stdout: `{"registry.example":"bob"}` + "\n", calls: []string{"DockerList"}},
		{name: "docker list empty", args: []string{"authos-credential-helper", "docker", "list"},
			code: ExitOK, stdout: "{}\n", calls: []string{"DockerList"}},
		{name: "docker unknown verb", args: []string{"docker-credential-authos", "delete"},
			code:   ExitFailure,
			stdout: "docker: unknown verb \"delete\" (want get, store, erase, list or version)\n",
			stderr: "authos-credential-helper: docker: unknown verb \"delete\" (want get, store, erase, list or version)\n", noCalls: true},
		{name: "docker usage", args: []string{"docker-credential-authos"}, code: ExitUsage, noCalls: true,
			stderr: "usage: docker-credential-authos get|store|erase|list|version\n"},

		// terraform
		{name: "terraform get token", args: []string{"terraform-credentials-authos", "get", "TF.Acme.Example:443"},
			fake: fakeCredentials{terraform: helper.TerraformAnswer{Token: tok}},
			code: ExitOK, stdout: `{"token":"` + tok + `"}` + "\n",
			calls: []string{"TerraformGet {Profile: Server: Org: Service: ClientID:} tf.acme.example"}},
		{name: "terraform get stored", args: []string{"terraform-credentials-authos_v1.2.3", "--profile", "acme", "get", "app.terraform.io"},
			fake: fakeCredentials{terraform: helper.TerraformAnswer{Stored: &protocol.TerraformCredentials{Token: "t", Raw: json.RawMessage(`{"token":"t","x":1}`)}}},
			code: ExitOK, stdout: `{"token":"t","x":1}` + "\n",
			calls: []string{"TerraformGet {Profile:acme Server: Org: Service: ClientID:} app.terraform.io"}},
		{name: "terraform get none", args: []string{"terraform-credentials-authos", "get", "other.example"},
			code: ExitOK, stdout: "{}\n", calls: []string{"TerraformGet {Profile: Server: Org: Service: ClientID:} other.example"}},
		{name: "terraform store", args: []string{"terraform-credentials-authos", "store", "app.terraform.io"},
			stdin: `{"token":"t","x":1}`, code: ExitOK, calls: []string{`TerraformStore app.terraform.io {"token":"t","x":1}`}},
		{name: "terraform forget", args: []string{"terraform-credentials-authos", "forget", "app.terraform.io"},
			code: ExitOK, stderr: "-", calls: []string{"TerraformForget {Profile: Server: Org: Service: ClientID:} app.terraform.io"}},
		{name: "terraform logout of a served host drops the token (stderr with no terminal)", args: []string{"terraform-credentials-authos", "--profile", "acme", "forget", "tf.acme.example"},
			fake: fakeCredentials{dropped: dropped}, code: ExitOK,
			stderr: "authos: terraform logout: dropped the cached token for acme/cli at sso.acme.example; every client using it (git, docker, kubectl, Terraform) signs in again at its next request; the session at AuthOS is not ended (to end it too, run: authos-credential-helper logout --profile acme)\n",
			calls:  []string{"TerraformForget {Profile:acme Server: Org: Service: ClientID:} tf.acme.example"}},
		{name: "terraform bad verb", args: []string{"terraform-credentials-authos", "list", "app.terraform.io"},
			code: ExitUsage, stderr: "authos-credential-helper: terraform: unknown verb; want get, store or forget\n", noCalls: true},

		// kube
		{name: "kube v1 by default", args: []string{"authos-credential-helper", "kube", "--profile", "acme"},
			fake: fakeCredentials{cred: helper.Credential{Token: tok, ExpiresAt: expiry}}, code: ExitOK,
			stdout: `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"token":"` + tok + `","expirationTimestamp":"2027-01-15T08:00:00Z"}}` + "\n",
			calls:  []string{"Token {Profile:acme Server: Org: Service: ClientID:}"}},
		{name: "kube v1beta1 from exec info", args: []string{"authos-credential-helper", "kube"},
			env:  map[string]string{"KUBERNETES_EXEC_INFO": `{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","spec":{"interactive":true}}`},
			fake: fakeCredentials{cred: helper.Credential{Token: tok, ExpiresAt: expiry}}, code: ExitOK,
			stdout: `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","status":{"token":"` + tok + `","expirationTimestamp":"2027-01-15T08:00:00Z"}}` + "\n",
			calls:  []string{"Token {Profile: Server: Org: Service: ClientID:}"}},
		{name: "kube malformed exec info decoded before any config work", args: []string{"authos-credential-helper", "kube"},
			env:  map[string]string{"KUBERNETES_EXEC_INFO": `{"apiVersion":"v0"`},
			code: ExitFailure, noCalls: true},
		{name: "kube bad identity is a usage error", args: []string{"authos-credential-helper", "kube", "--org", "acme"},
			fake: fakeCredentials{err: &helper.IdentityError{Err: errors.New("identity from flags lacks server, service, client-id")}},
			code: ExitUsage, stderr: "authos-credential-helper: identity from flags lacks server, service, client-id\n",
			calls: []string{"Token {Profile: Server: Org:acme Service: ClientID:}"}},
		{name: "kube stray argument", args: []string{"authos-credential-helper", "kube", "extra"},
			code: ExitUsage, stderr: "authos-credential-helper: kube: unexpected argument \"extra\"\n", noCalls: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := tt.fake
			var stdout, stderr strings.Builder
			code := Main(context.Background(), Env{
				Args: tt.args, Stdin: strings.NewReader(tt.stdin), Stdout: &stdout, Stderr: &stderr,
				Getenv: func(k string) string { return tt.env[k] }, creds: &fake,
				TTY: func() (*os.File, error) { return nil, os.ErrNotExist },
			})
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, stderr.String())
			}
			if stdout.String() != tt.stdout {
				t.Errorf("stdout\n %q\nwant\n %q", stdout.String(), tt.stdout)
			}
			if tt.stderr == "-" {
				tt.stderr = "" // nothing at all
				if stderr.Len() != 0 {
					t.Errorf("stderr %q, want nothing", stderr.String())
				}
			}
			if tt.stderr != "" && stderr.String() != tt.stderr {
				t.Errorf("stderr\n %q\nwant\n %q", stderr.String(), tt.stderr)
			}
			if tt.code != ExitOK && tt.stderr == "" && strings.Count(stderr.String(), "\n") > 1 {
				t.Errorf("stderr has more than one line: %q", stderr.String())
			}
			if strings.Contains(stderr.String(), tok) {
				t.Errorf("stderr holds the token: %q", stderr.String())
			}
			if tt.noCalls && len(fake.calls) != 0 {
				t.Errorf("calls %q, want none", fake.calls)
			}
			if !tt.noCalls && strings.Join(fake.calls, "|") != strings.Join(tt.calls, "|") {
				t.Errorf("calls\n %q\nwant\n %q", fake.calls, tt.calls)
			}
		})
	}
}
