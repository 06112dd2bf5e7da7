package setup

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
)

// FuzzJSONEdit: inserting, replacing or removing one member of an object
// (the top level, or an object nested in its first member, like
// credHelpers) leaves valid JSON that differs from the original by exactly
// that member.
func FuzzJSONEdit(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, "{\n\t\"credHelpers\": {\n\t\t\"gcr.io\": \"gcloud\"\n\t},\n\t\"x\": [1, 2]\n}\n", `{"a":{},"b":null}`, " { \"a\" : { \"b\" : 2 } } "} {
		for op := range 6 {
			f.Add([]byte(s), byte(op), "registry.example", `"authos"`)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte, op byte, key, value string) {
		if !json.Valid([]byte(value)) || !utf8.ValidString(key) {
			return
		}
		top, err := parseTopObject(src)
		if err != nil {
			return
		}
		o, depth := top, 0
		if op&1 == 1 { // the object in the first member
			if len(top.members) == 0 {
				return
			}
			if o, err = scanObject(src, top.members[0].vStart); err != nil {
				return
			}
			depth = 1
		}
		before := objectAt(t, src, depth)
		if before == nil || len(before) != len(o.members) {
			return // duplicate keys: no one map to compare with
		}
		var got []byte
		want := map[string]any{}
		for k, v := range before {
			want[k] = v
		}
		var v any
		json.Unmarshal([]byte(value), &v)
		switch (op >> 1) % 3 {
		case 0:
			if o.find(key) >= 0 {
				return // setup inserts only missing keys
			}
			got = insertMember(src, o, key, value, depth, jsonUnit(src, top))
			want[key] = v
		case 1:
			if len(o.members) == 0 {
				return
			}
			i := int(op>>3) % len(o.members)
			got = replaceValue(src, o, i, value)
			want[o.members[i].key] = v
		case 2:
			if len(o.members) == 0 {
				return
			}
			i := int(op>>3) % len(o.members)
			got = removeMember(src, o, i)
			delete(want, o.members[i].key)
		}
		if !json.Valid(got) {
			t.Fatalf("%q became invalid JSON %q", src, got)
		}
		after := objectAt(t, got, depth)
		if !reflect.DeepEqual(after, want) {
			t.Fatalf("%q became %q:\n got %v\nwant %v", src, got, after, want)
		}
		if depth == 1 { // the rest of the top level is untouched
			var a, b map[string]json.RawMessage
			json.Unmarshal(src, &a)
			json.Unmarshal(got, &b)
			for k := range a {
				if k != top.members[0].key && !bytes.Equal(a[k], b[k]) {
					t.Fatalf("%q: member %q changed in %q", src, k, got)
				}
			}
		}
	})
}

// objectAt decodes the top-level object (depth 0) or the object in its
// first member (1); nil when that is not an object.
func objectAt(t *testing.T, b []byte, depth int) map[string]any {
	top, err := parseTopObject(b)
	if err != nil {
		t.Fatalf("%q: %v", b, err)
	}
	raw := b
	if depth == 1 {
		raw = top.members[0].raw
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

// FuzzKubeconfig: whatever the kubeconfig, setup either refuses or writes
// one that parses, holding our user entry as we meant it; undo then gives
// the original back.
func FuzzKubeconfig(f *testing.F) {
	for _, s := range []string{"", kubeExisting, kubeSkeleton, "apiVersion: v1\nusers: []   # none\n", "apiVersion: v1\nkind: Config",
		"users:\n  - name: a\n    user: {}\n", "contexts:\n- name: prod\n  context:\n    user: x # c\n"} {
		f.Add(s, "acme", "")
		f.Add(s, "we ird", "prod")
	}
	f.Fuzz(func(t *testing.T, doc, profile, context string) {
		if profile == "" || !utf8.ValidString(profile) || !utf8.ValidString(context) {
			return
		}
		p := planOpts{profile: profile, binary: "/opt/authos/bin/authos-credential-helper", home: "/h"}
		in := kubeIn{path: "/h/.kube/config", orig: []byte(doc), existed: doc != "", context: context}
		pl, err := planKube(p, in)
		if err != nil {
			// Someone else's entry that does not read back (a user that is a
			// string, say) makes setup refuse: that is not our edit failing.
			var shape kubeShape
			if strings.Contains(err.Error(), "internal error") && yaml.Unmarshal([]byte(doc), &shape) == nil {
				t.Fatalf("%q: %v", doc, err)
			}
			return
		}
		out := []byte(doc)
		var st kubeState
		if len(pl) > 0 {
			last := pl[len(pl)-1]
			out, st = last.data, last.state.(kubeState)
		}
		var cfg kubeShape
		if err := yaml.Unmarshal(out, &cfg); err != nil {
			t.Fatalf("%q became %q, which does not parse: %v", doc, out, err)
		}
		n := 0
		for _, u := range cfg.Users {
			if u.Name == kubeUserName(profile) {
				n++
				e := u.User.Exec
				if e.Command != p.binary || e.APIVersion != "client.authentication.k8s.io/v1" || strings.Join(e.Args, "\x00") != "kube\x00--profile\x00"+profile {
					t.Fatalf("%q: our user reads back as %+v", out, e)
				}
			}
		}
		if n != 1 {
			t.Fatalf("%q: %d users named %s", out, n, kubeUserName(profile))
		}
		if len(pl) == 0 {
			return
		}
		// Undo gives the file back (a missing final newline comes back as one).
		p.undo = true
		upl, err := planKube(p, kubeIn{path: in.path, orig: out, existed: true, st: st})
		if err != nil {
			t.Fatalf("undo of %q: %v", out, err)
		}
		back := out
		for _, c := range upl {
			if c.act == actWrite {
				back = c.data
			}
			if c.act == actRemove {
				back = nil
			}
		}
		if string(back) != doc && string(back) != doc+"\n" {
			t.Fatalf("undo of\n%q\nleft\n%q\nwant\n%q", out, back, doc)
		}
	})
}
