package e2e

import (
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// shapedJWT is an unsigned-looking token of the right shape: the CI path
// reads claims, it does not verify (the server it is sent to does).
func shapedJWT(header, claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(claims)) + "." + enc([]byte("signature"))
}

// TestCITokens: AUTHOS_TOKEN and a profile's token_env are served for the
// hosts their profiles bind and nowhere else, nothing is cached, nobody is
// asked to sign in, status says where each came from, and an expired one
// fails naming its variable.
func TestCITokens(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	// A person signs in once elsewhere; the pipeline gets the tokens as secrets.
	issuer := newSandbox(t, "")
	issuer.writeConfig(t, resourceConfig(d.URL))
	mgmtTok := loginAs(t, issuer, d, 1, "mgmt")
	gitTok := loginAs(t, issuer, d, 2, "git")
	codesBefore := d.codes(t).DeviceCodeRequests

	ci := newSandbox(t, "")
	ci.writeConfig(t, strings.Replace(resourceConfig(d.URL), "[profiles.git]\n", "[profiles.git]\ntoken_env = \"CI_GIT_TOKEN\"\n", 1))
	ci.env["AUTHOS_TOKEN"] = mgmtTok

	// AUTHOS_TOKEN is the management token: served for the Terraform host
	// the mgmt profile binds, and to `token --profile mgmt`.
	if tok, errOut, code := terraformGet(t, ci, "tf.acme.example"); code != 0 || tok != mgmtTok {
		t.Fatalf("terraform get: exit %d, AUTHOS_TOKEN served %v, stderr %q", code, tok == mgmtTok, errOut)
	}
	if out, errOut, code := ci.run(t, "token", "--profile", "mgmt"); code != 0 || strings.TrimSpace(out) != mgmtTok {
		t.Fatalf("token --profile mgmt: exit %d, stderr %q", code, errOut)
	}
	// Never for a host no profile binds, nor for a resource profile whose
	// audience it does not carry (git's token_env is not set yet).
	if tok, _, _ := terraformGet(t, ci, "tf.other.example"); tok != "" {
		t.Fatal("AUTHOS_TOKEN served for a host no profile binds")
	}
	if pw, errOut, code := gitGet(t, ci, "git.acme.example"); code == 0 || pw != "" || !strings.Contains(errOut, "no valid AuthOS token") {
		t.Fatalf("git get with only AUTHOS_TOKEN (a management token): exit %d, served %v, stderr %q", code, pw != "", errOut)
	}

	// token_env: the git profile's own variable.
	ci.env["CI_GIT_TOKEN"] = gitTok
	if pw, errOut, code := gitGet(t, ci, "git.acme.example"); code != 0 || pw != gitTok {
		t.Fatalf("git get with CI_GIT_TOKEN: exit %d, served it %v (AUTHOS_TOKEN %v), stderr %q", code, pw == gitTok, pw == mgmtTok, errOut)
	}
	if sec, _, code := dockerGet(t, ci, "registry.acme.example"); code == 0 || sec != "" {
		t.Fatalf("docker get: a CI token was served to the registry (git's %v, AUTHOS_TOKEN %v)", sec == gitTok, sec == mgmtTok)
	}

	out, errOut, code := ci.run(t, "status")
	if code != 0 {
		t.Fatalf("status: %d %s", code, errOut)
	}
	flat := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"$AUTHOS_TOKEN mgmt alice@acme.example", "$CI_GIT_TOKEN git alice@acme.example", "served (not cached)"} {
		if !strings.Contains(flat, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, mgmtTok) || strings.Contains(out, gitTok) {
		t.Fatal("status printed a token")
	}
	// doctor says where each profile's token comes from, never the token.
	out, _, _ = ci.run(t, "doctor", "--offline")
	for _, want := range []string{"served from $AUTHOS_TOKEN (the environment; not cached", "served from $CI_GIT_TOKEN (the environment; not cached"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, mgmtTok) || strings.Contains(out, gitTok) {
		t.Fatal("doctor printed a token")
	}
	if n := d.codes(t).DeviceCodeRequests; n != codesBefore {
		t.Fatalf("%d device codes asked for with CI tokens set", n-codesBefore)
	}
	if ents, _ := os.ReadDir(ci.tokensDir()); len(ents) != 0 {
		t.Fatalf("the CI sandbox cached %d files", len(ents))
	}

	// Expired: a message naming the variable, no sign-in.
	ci.env["AUTHOS_TOKEN"] = shapedJWT(`{"typ":"authos-management+jwt","alg":"RS256","kid":"k"}`,
		fmt.Sprintf(`{"iss":%q,"aud":"service:acme/cli","sub":"ci","exp":%d}`, d.URL, time.Now().Add(-time.Minute).Unix()))
	_, errOut, code = terraformGet(t, ci, "tf.acme.example")
	if code == 0 || !strings.Contains(errOut, "the token in AUTHOS_TOKEN expired at") || !strings.Contains(errOut, "put a fresh token in AUTHOS_TOKEN") {
		t.Fatalf("terraform get with an expired AUTHOS_TOKEN: exit %d, stderr %q", code, errOut)
	}
	assertOneLineError(t, errOut)
	if n := d.codes(t).DeviceCodeRequests; n != codesBefore {
		t.Fatal("an expired CI token led to a sign-in")
	}
}
