package protocol

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestDecodeTerraformArgs(t *testing.T) {
	tests := []struct {
		args       []string
		verb, host string
	}{
		{[]string{"get", "app.terraform.io"}, "get", "app.terraform.io"},
		{[]string{"store", "tf.acme.example"}, "store", "tf.acme.example"},
		{[]string{"forget", "tf.acme.example"}, "forget", "tf.acme.example"},
		{[]string{"get", "TF.Acme.Example"}, "get", "tf.acme.example"},
		{[]string{"get", "tf.acme.example:8443"}, "get", "tf.acme.example:8443"},
		{[]string{"get", "tf.acme.example:443"}, "get", "tf.acme.example"},
		{[]string{"get", "tf.acme.example:08080"}, "get", "tf.acme.example:8080"},
		{[]string{"get", "xn--bcher-kva.example"}, "get", "xn--bcher-kva.example"},
		{[]string{"get", "localhost"}, "get", "localhost"},
	}
	for _, tt := range tests {
		verb, host, err := DecodeTerraformArgs(tt.args)
		if err != nil || verb != tt.verb || host != tt.host {
			t.Errorf("DecodeTerraformArgs(%q) = %q, %q, %v; want %q, %q", tt.args, verb, host, err, tt.verb, tt.host)
		}
	}
}

func TestDecodeTerraformArgsRejects(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no args", nil, "usage"},
		{"verb only", []string{"get"}, "usage"},
		{"extra arg", []string{"get", "h", marker}, "usage"},
		{"unknown verb", []string{marker, "h"}, "unknown verb"},
		{"erase is docker's", []string{"erase", "h"}, "unknown verb"},
		{"verb case matters", []string{"GET", "h"}, "unknown verb"},
		{"empty host", []string{"get", ""}, "host is empty"},
		{"space", []string{"get", "tf.acme.example " + marker}, "not allowed"},
		{"slash", []string{"get", "tf.acme.example/" + marker}, "not allowed"},
		{"URL", []string{"get", "https://tf.acme.example"}, "not allowed"},
		{"NUL", []string{"get", "tf\x00" + marker}, "not allowed"},
		{"newline", []string{"get", "tf\n" + marker}, "not allowed"},
		{"userinfo", []string{"get", marker + "@tf.acme.example"}, "not allowed"},
		{"unicode space", []string{"get", "tf\u00a0" + marker}, "not allowed"},
		{"invalid UTF-8", []string{"get", "tf\xff" + marker}, "not valid UTF-8"},
		{"empty name", []string{"get", ":8080"}, "invalid name"},
		{"empty label", []string{"get", "tf..example"}, "invalid name"},
		{"bad port", []string{"get", "h:" + marker}, "invalid port"},
		{"empty port", []string{"get", "h:"}, "invalid port"},
		{"two colons", []string{"get", "h:1:2"}, "invalid port"},
		{"port too big", []string{"get", "h:65536"}, "invalid port"},
		{"port zero", []string{"get", "h:0"}, "invalid port"},
		{"signed port", []string{"get", "h:+80"}, "invalid port"},
		{"too long", []string{"get", strings.Repeat("a", 300)}, "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := DecodeTerraformArgs(tt.args)
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

func TestDecodeTerraformStore(t *testing.T) {
	tests := []struct {
		name, in, token, raw string
	}{
		{"as terraform login sends it", `{"token":"` + marker + `"}`, marker, `{"token":"` + marker + `"}`},
		{"unknown properties kept", " {\"token\": \"t\", \"refresh\": {\"a\": [1, 2]}}\n", "t", `{"token": "t", "refresh": {"a": [1, 2]}}`},
		{"no token", `{"other":1}`, "", `{"other":1}`},
		{"empty object", `{}`, "", `{}`},
		{"token key is case-sensitive", `{"Token":"t"}`, "", `{"Token":"t"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := DecodeTerraformStore(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if c.Token != tt.token || string(c.Raw) != tt.raw {
				t.Fatalf("got %q %s, want %q %s", c.Token, c.Raw, tt.token, tt.raw)
			}
		})
	}
}

func TestDecodeTerraformStoreRejects(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", "is empty"},
		{"not JSON", "token=" + marker, "not valid JSON"},
		{"truncated", `{"token":"` + marker, "not valid JSON"},
		{"array", `["` + marker + `"]`, "not a JSON object"},
		{"string", `"` + marker + `"`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"trailing data", `{"token":"t"} "` + marker + `"`, "not valid JSON"},
		{"token number", `{"token":1234}`, "token is not a string"},
		{"token null", `{"token":null}`, "token is not a string"},
		{"token object", `{"token":{"v":"` + marker + `"}}`, "token is not a string"},
		{"raw NUL", "{\"token\":\"" + marker + "\x00\"}", "NUL"},
		{"escaped NUL", `{"token":"` + marker + `\u0000"}`, "token contains NUL"},
		{"invalid UTF-8", "{\"token\":\"" + marker + "\xff\"}", "not valid UTF-8"},
		{"oversize", `{"token":"` + strings.Repeat("a", MaxInput) + `"}`, "larger than 1 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeTerraformStore(strings.NewReader(tt.in))
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

func TestEncodeTerraform(t *testing.T) {
	var b bytes.Buffer
	if err := EncodeTerraformToken(&b, "eyJ.a<b>.c"); err != nil {
		t.Fatal(err)
	}
	if want := `{"token":"eyJ.a\u003cb\u003e.c"}` + "\n"; b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
	b.Reset()
	if err := EncodeTerraformNone(&b); err != nil || b.String() != "{}\n" {
		t.Fatalf("none: %q %v", b.String(), err)
	}
	for _, bad := range []string{"", marker + "\n", marker + "\xff"} {
		b.Reset()
		err := EncodeTerraformToken(&b, bad)
		if err == nil || b.Len() != 0 {
			t.Fatalf("token %q: err %v, wrote %q", bad, err, b.String())
		}
		checkSafeError(t, err)
	}
}

func TestEncodeTerraformStored(t *testing.T) {
	tests := []struct {
		name string
		c    TerraformCredentials
		want string
	}{
		{"raw compacted", TerraformCredentials{Token: "t", Raw: json.RawMessage("{\"token\": \"t\",\n \"x\": [1, {\"y\": null}]}")},
			`{"token":"t","x":[1,{"y":null}]}` + "\n"},
		{"token only", TerraformCredentials{Token: "t"}, `{"token":"t"}` + "\n"},
		{"nothing", TerraformCredentials{}, "{}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := EncodeTerraformStored(&b, tt.c); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Fatalf("got %q, want %q", b.String(), tt.want)
			}
		})
	}
	for _, raw := range []string{`[1]`, `{"a":`, `"` + marker + `"`} {
		var b bytes.Buffer
		err := EncodeTerraformStored(&b, TerraformCredentials{Raw: json.RawMessage(raw)})
		if err == nil || b.Len() != 0 {
			t.Fatalf("raw %q: err %v, wrote %q", raw, err, b.String())
		}
		checkSafeError(t, err)
	}
}

// The protocol forbids dropping unknown properties: store then get must
// give Terraform every property back.
func TestTerraformStoreGetKeepsUnknownProperties(t *testing.T) {
	in := `{"token":"` + marker + `","refresh_token":"r","expires_at":1800000000,"nested":{"scopes":["a","b"]}}`
	c, err := DecodeTerraformStore(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := EncodeTerraformStored(&b, c); err != nil {
		t.Fatal(err)
	}
	var got, want map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal([]byte(in), &want)
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if !bytes.Equal(gj, wj) {
		t.Fatalf("got %s, want %s", gj, wj)
	}
	if b.String() != in+"\n" {
		t.Fatalf("compact input changed: %q", b.String())
	}
}

func FuzzDecodeTerraformArgs(f *testing.F) {
	for _, s := range [][2]string{
		{"get", "app.terraform.io"}, {"store", "TF.example:443"}, {"forget", "h:8080"},
		{"get", "h:" + marker}, {marker, "h"}, {"get", "h/" + marker}, {"get", ""},
		{"get", "h\x00" + marker}, {"get", "\xff"}, {"get", "a..b"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, verb, host string) {
		v, h, err := DecodeTerraformArgs([]string{verb, host})
		if err != nil {
			checkSafeError(t, err)
			return
		}
		// Hosts fold ASCII case only (the matching rule): no Unicode folding.
		if v != verb || h == "" || h != LowerASCII(h) {
			t.Fatalf("got %q %q from %q %q", v, h, verb, host)
		}
		// The normal form is a fixed point.
		if _, h2, err := DecodeTerraformArgs([]string{v, h}); err != nil || h2 != h {
			t.Fatalf("normalising %q again gave %q, %v", h, h2, err)
		}
	})
}

func FuzzDecodeTerraformStore(f *testing.F) {
	for _, s := range []string{
		`{"token":"` + marker + `"}`,
		`{"token":"` + marker + `","x":{"y":[1,2,null]}}`,
		`{"token":` + marker + `}`,
		`{"token":"` + marker + ``,
		`{"token":["` + marker + `"]}`,
		`{"token":"` + marker + `\u0000"}`,
		"{\"token\":\"" + marker + "\xff\"}",
		`{}`, `null`, `[]`, ``, `{"token":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := DecodeTerraformStore(bytes.NewReader(in))
		if err != nil {
			checkSafeError(t, err)
			return
		}
		var b bytes.Buffer
		if err := EncodeTerraformStored(&b, c); err != nil {
			t.Fatalf("cannot write back what was stored: %v", err)
		}
		back, err := DecodeTerraformStore(&b)
		if err != nil || back.Token != c.Token {
			t.Fatalf("store->get->store changed the token: %v", err)
		}
	})
}
