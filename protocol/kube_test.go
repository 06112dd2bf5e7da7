package protocol

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestDecodeExecInfo(t *testing.T) {
	tests := []struct {
		name, env string
		want      ExecInfo
	}{
		{"v1 minimal",
			`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`,
			ExecInfo{APIVersion: KubeAPIVersionV1}},
		{"v1beta1 interactive",
			`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":true}}`,
			ExecInfo{APIVersion: KubeAPIVersionV1beta1, Interactive: true}},
		{"no spec",
			`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1"}`,
			ExecInfo{APIVersion: KubeAPIVersionV1}},
		{"null config dropped",
			`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"server":"https://k","config":null}}}`,
			ExecInfo{APIVersion: KubeAPIVersionV1, Cluster: &ExecCluster{Server: "https://k"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeExecInfo(tt.env)
			if err != nil {
				t.Fatal(err)
			}
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(tt.want)
			if !bytes.Equal(gj, wj) {
				t.Fatalf("got %s, want %s", gj, wj)
			}
		})
	}
}

func TestDecodeExecInfoCluster(t *testing.T) {
	// As client-go writes it with provideClusterInfo: true.
	env := `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{` +
		`"server":"https://k8s.acme.example:6443","tls-server-name":"k8s.internal","insecure-skip-tls-verify":false,` +
		`"certificate-authority-data":"UEVN","proxy-url":"http://proxy:3128","disable-compression":true,` +
		`"config":{"profile":"acme","audience":["a"]}},"interactive":false}}`
	got, err := DecodeExecInfo(env)
	if err != nil {
		t.Fatal(err)
	}
	c := got.Cluster
	if c == nil || c.Server != "https://k8s.acme.example:6443" || c.TLSServerName != "k8s.internal" ||
		string(c.CertificateAuthorityData) != "PEM" || string(c.Config) != `{"profile":"acme","audience":["a"]}` {
		t.Fatalf("cluster = %#v", c)
	}
}

func TestDecodeExecInfoRejects(t *testing.T) {
	tests := []struct{ name, env, want string }{
		{"empty", "", "must be run by kubectl or client-go"},
		{"v1alpha1", `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1alpha1"}`, "apiVersion is not"},
		{"other group", `{"kind":"ExecCredential","apiVersion":"v1"}`, "apiVersion is not"},
		{"no apiVersion", `{"kind":"ExecCredential"}`, "apiVersion is not"},
		{"wrong kind", `{"kind":"Pod","apiVersion":"client.authentication.k8s.io/v1"}`, "kind is not ExecCredential"},
		{"no kind", `{"apiVersion":"client.authentication.k8s.io/v1"}`, "kind is not ExecCredential"},
		{"not JSON", `kind=ExecCredential ` + marker, "not valid JSON"},
		{"array", `[{"kind":"ExecCredential"}]`, "not a JSON object"},
		{"bad base64", `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"certificate-authority-data":"` + marker + `!"}}}`, "cannot be decoded"},
		{"wrong type", `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":"` + marker + `"}}`, "wrong type"},
		{"invalid UTF-8", `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","x":"` + "\xff" + `"}`, "not valid UTF-8"},
		{"oversize", `{"kind":"ExecCredential","x":"` + strings.Repeat("a", MaxInput) + `"}`, "larger than 1 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeExecInfo(tt.env)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %q, want it to mention %q", err, tt.want)
			}
			checkSafeError(t, err)
		})
	}
}

func TestEncodeExecCredential(t *testing.T) {
	exp := time.Date(2026, 9, 1, 14, 30, 15, 999, time.FixedZone("CEST", 2*3600))
	tests := []struct {
		name, apiVersion, token string
		expiry                  time.Time
		want                    string
	}{
		{"v1 with expiry", KubeAPIVersionV1, "eyJ.a.b", exp,
			`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"token":"eyJ.a.b","expirationTimestamp":"2026-09-01T12:30:15Z"}}` + "\n"},
		{"v1beta1 without expiry", KubeAPIVersionV1beta1, "tok", time.Time{},
			`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","status":{"token":"tok"}}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := EncodeExecCredential(&b, tt.apiVersion, tt.token, tt.expiry); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Fatalf("got  %q\nwant %q", b.String(), tt.want)
			}
		})
	}
}

// What client-go sends, we answer in the same version; the answer is an
// ExecCredential too, so it decodes with the same rules.
func TestExecCredentialRoundTrip(t *testing.T) {
	for _, v := range []string{KubeAPIVersionV1, KubeAPIVersionV1beta1} {
		info, err := DecodeExecInfo(`{"kind":"ExecCredential","apiVersion":"` + v + `","spec":{"interactive":false}}`)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		exp := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
		if err := EncodeExecCredential(&b, info.APIVersion, "tok", exp); err != nil {
			t.Fatal(err)
		}
		back, err := DecodeExecInfo(b.String())
		if err != nil || back.APIVersion != v {
			t.Fatalf("%s: %v %#v", v, err, back)
		}
		var out struct {
			Status struct {
				Token               string    `json:"token"`
				ExpirationTimestamp time.Time `json:"expirationTimestamp"`
			} `json:"status"`
		}
		if err := json.Unmarshal(b.Bytes(), &out); err != nil || out.Status.Token != "tok" || !out.Status.ExpirationTimestamp.Equal(exp) {
			t.Fatalf("%s: %v %+v", v, err, out)
		}
	}
}

func TestEncodeExecCredentialRejects(t *testing.T) {
	tests := []struct{ name, apiVersion, token string }{
		{"v1alpha1", "client.authentication.k8s.io/v1alpha1", marker},
		{"empty version", "", marker},
		{"empty token", KubeAPIVersionV1, ""},
		{"newline in token", KubeAPIVersionV1, marker + "\nX-Evil: 1"},
		{"invalid UTF-8 token", KubeAPIVersionV1, marker + "\xff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := EncodeExecCredential(&b, tt.apiVersion, tt.token, time.Time{})
			if err == nil || b.Len() != 0 {
				t.Fatalf("err %v, wrote %q", err, b.String())
			}
			checkSafeError(t, err)
		})
	}
}

func FuzzDecodeExecInfo(f *testing.F) {
	for _, s := range []string{
		`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`,
		`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":true,"cluster":{"server":"https://k","certificate-authority-data":"UEVN","config":{"t":"` + marker + `"}}}}`,
		`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"certificate-authority-data":"` + marker + `"}}}`,
		`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1alpha1"}`,
		`{"kind":"` + marker + `","apiVersion":"client.authentication.k8s.io/v1"}`,
		`{"kind":"ExecCredential","apiVersion":"` + marker + `"}`,
		`{"kind":"ExecCredential",` + marker + `}`,
		"", "null", "[]", "\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, env string) {
		info, err := DecodeExecInfo(env)
		if err != nil {
			checkSafeError(t, err)
			return
		}
		if !validKubeAPIVersion(info.APIVersion) {
			t.Fatalf("accepted apiVersion %q", info.APIVersion)
		}
		var b bytes.Buffer
		if err := EncodeExecCredential(&b, info.APIVersion, "tok", time.Unix(1800000000, 0)); err != nil {
			t.Fatal(err)
		}
	})
}
