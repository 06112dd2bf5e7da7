package setup

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// kubectl ≥ 1.35 reads a kuberc (kubectl.config.k8s.io/v1beta1 Preference)
// whose credentialPluginPolicy may be AllowAll (the default), DenyAll or
// Allowlist; with Allowlist, only plugins named in credentialPluginAllowlist
// ([{name: ...}]) run. `setup kube` adds the helper to a user's allowlist
// and `--undo` removes exactly that; it never sets a policy.

// Kuberc policies.
const (
	KubercAllowAll  = "AllowAll"
	KubercDenyAll   = "DenyAll"
	KubercAllowlist = "Allowlist"
)

// kubercState is what undo needs to know about one kuberc.
type kubercState struct {
	Entry    string   `json:"entry,omitempty"`    // the allowlist name setup added
	Profiles []string `json:"profiles,omitempty"` // the profiles that need it
	AddedKey bool     `json:"added_key,omitempty"`
	PrevLine *string  `json:"prev_line,omitempty"` // "credentialPluginAllowlist: []" or similar
}

func (s kubercState) empty() bool {
	return s.Entry == "" && len(s.Profiles) == 0 && !s.AddedKey && s.PrevLine == nil
}

const kubercListKey = "credentialPluginAllowlist"

// KubercFile is where kubectl reads its kuberc: $KUBERC, else
// ~/.kube/kuberc; "" when KUBERC=off or KUBECTL_KUBERC=false turn it off.
func KubercFile(getenv func(string) string, home string) string {
	if strings.EqualFold(getenv("KUBECTL_KUBERC"), "false") {
		return ""
	}
	switch p := getenv("KUBERC"); {
	case p == "off":
		return ""
	case p != "":
		if strings.HasPrefix(p, "~/") {
			return filepath.Join(home, p[2:])
		}
		return p
	}
	return filepath.Join(home, ".kube", "kuberc")
}

// Kuberc is what doctor needs from a kuberc.
type Kuberc struct {
	Policy    string   // as written; "" is AllowAll
	Allowlist []string // the entries' names
}

// ParseKuberc reads the policy and allowlist of a kuberc (any YAML, JSON
// included: only the file setup edits must be block style).
func ParseKuberc(b []byte) (Kuberc, error) {
	var f struct {
		Policy    string `yaml:"credentialPluginPolicy"`
		Allowlist []struct {
			Name string `yaml:"name"`
		} `yaml:"credentialPluginAllowlist"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		return Kuberc{}, err
	}
	k := Kuberc{Policy: f.Policy}
	for _, e := range f.Allowlist {
		k.Allowlist = append(k.Allowlist, e.Name)
	}
	return k, nil
}

// KubercAllows applies kubectl's allowlist rule to command: an entry that is
// a bare name allows it when name == command or both resolve to the same
// path; a full path allows it when it equals command or command's resolved
// path (no symlinks are followed, no globs).
func KubercAllows(allowlist []string, command string, lookPath func(string) (string, error)) bool {
	resolved, rerr := lookPath(command)
	for _, e := range allowlist {
		switch {
		case e == "":
		case e == command:
			return true
		case !strings.ContainsRune(e, '/') && !strings.ContainsRune(e, filepath.Separator):
			if p, err := lookPath(e); err == nil && rerr == nil && p == resolved {
				return true
			}
		case rerr == nil && e == resolved:
			return true
		}
	}
	return false
}

// kubercIn is what the kuberc part of the kube plan is made from.
type kubercIn struct {
	path    string
	orig    []byte
	existed bool
	st      kubercState
}

func (r *run) kubercPlan() (plan, error) {
	in := kubercIn{path: KubercFile(r.Getenv, r.home)}
	if in.path == "" {
		return nil, nil
	}
	var err error
	if in.orig, in.existed, err = readFile(in.path); err != nil {
		return nil, err
	}
	r.state.get("kuberc|"+in.path, &in.st)
	return planKuberc(r.planOpts(), in)
}

// planKuberc adds the helper to an Allowlist policy's list (once for every
// profile set up), or removes it when the last profile is undone.
func planKuberc(p planOpts, in kubercIn) (plan, error) {
	if !in.existed {
		return nil, nil
	}
	where, stKey := p.where(in.path), "kuberc|"+in.path
	st := in.st
	st.Profiles = slices.Clone(st.Profiles)
	// Parsed for editing only when there is something to edit: a kuberc
	// setup need not touch may be in any YAML style.
	edit := func() (*kubeDoc, error) {
		d, err := parseKube(in.orig)
		if err != nil {
			return nil, fmt.Errorf("setup kube: kuberc %s: %w", in.path, err)
		}
		return d, nil
	}
	if p.undo {
		if !slices.Contains(st.Profiles, p.profile) || st.Entry == "" {
			return nil, nil
		}
		d, err := edit()
		if err != nil {
			return nil, err
		}
		return undoKuberc(p, in, d, st)
	}
	k, err := ParseKuberc(in.orig)
	if err != nil {
		return nil, fmt.Errorf("setup kube: kuberc %s does not parse (%v); kubectl ≥ 1.35 fails on it too", in.path, err)
	}
	want := p.kubeFound
	if want == "" {
		want = p.binary
	}
	switch k.Policy {
	case KubercDenyAll:
		return plan{{warn: fmt.Sprintf("kuberc %s sets credentialPluginPolicy: DenyAll, so kubectl ≥ 1.35 runs no credential plugin and never asks the helper; make it Allowlist and run setup kube again", prettyPath(p.home, in.path))}}, nil
	case KubercAllowlist:
	default:
		return nil, nil // AllowAll (or unset): nothing to add
	}
	addProfile := func() {
		if !slices.Contains(st.Profiles, p.profile) {
			st.Profiles = append(st.Profiles, p.profile)
		}
	}
	if slices.Contains(k.Allowlist, want) || slices.Contains(k.Allowlist, p.kubeCommand()) {
		if st.Entry != "" && (st.Entry == want || st.Entry == p.kubeCommand()) && slices.Contains(k.Allowlist, st.Entry) {
			addProfile() // ours: this profile needs it too
			return plan{{stateKey: stKey, state: st}}, nil
		}
		return nil, nil // the user's own entry
	}
	d, err := edit()
	if err != nil {
		return nil, err
	}
	mv := d.key(kubercListKey)
	var b []byte
	entry := "- name: " + yamlScalar(want) + "\n"
	switch {
	case mv == nil:
		b = d.replaceLines(len(d.lines)+1, len(d.lines), kubercListKey+":\n"+entry)
		st.AddedKey = true
	case isEmptyValue(mv.Value):
		line := mv.Key.GetToken().Position.Line
		prev := d.lines[line-1]
		b = d.replaceLines(line, line, kubercListKey+":\n"+entry)
		if !strings.HasSuffix(prev, "\n") {
			prev += "\n"
		}
		st.PrevLine = &prev
	default:
		seq, ok := mv.Value.(*ast.SequenceNode)
		if !ok || seq.IsFlowStyle || len(seq.Entries) == 0 {
			return nil, fmt.Errorf("setup kube: %s is not a block-style list %s; add \"- name: %s\" to it by hand", kubercListKey, where, want)
		}
		if _, e := namedEntry(seq, st.Entry); st.Entry != "" && e != nil {
			// Our entry for a binary that has moved: replace it in place.
			first, last := entryLines(e)
			b = d.replaceLines(first, last, strings.Repeat(" ", e.Start.Position.Column-1)+entry)
		} else {
			indent := strings.Repeat(" ", seq.Entries[0].Start.Position.Column-1)
			_, last := entryLines(seq.Entries[len(seq.Entries)-1])
			b = d.replaceLines(last+1, last, indent+entry)
		}
	}
	if got, err := ParseKuberc(b); err != nil || !slices.Contains(got.Allowlist, want) {
		return nil, fmt.Errorf("setup kube: internal error, not writing %s: the allowlist reads back as %q (%v)", in.path, got.Allowlist, err)
	}
	st.Entry = want
	addProfile()
	var pl plan
	pl.say("added", "%s to the kuberc credentialPluginAllowlist %s", want, where)
	return append(pl, change{act: actWrite, path: in.path, data: b, stateKey: stKey, state: st}), nil
}

// undoKuberc drops this profile and, when no profile set up needs the
// entry any more, removes the entry setup added (and the key or line it
// expanded).
func undoKuberc(p planOpts, in kubercIn, d *kubeDoc, st kubercState) (plan, error) {
	where, stKey := p.where(in.path), "kuberc|"+in.path
	i := slices.Index(st.Profiles, p.profile)
	if i < 0 || st.Entry == "" {
		return nil, nil
	}
	st.Profiles = slices.Delete(st.Profiles, i, i+1)
	if len(st.Profiles) > 0 {
		return plan{{stateKey: stKey, state: st}}, nil
	}
	b := in.orig
	var pl plan
	if mv := d.key(kubercListKey); mv != nil {
		if seq, ok := mv.Value.(*ast.SequenceNode); ok && !seq.IsFlowStyle {
			if _, e := namedEntry(seq, st.Entry); e != nil {
				first, last := entryLines(e)
				b = d.replaceLines(first, last, "")
				pl.say("removed", "%s from the kuberc credentialPluginAllowlist %s", st.Entry, where)
				if len(seq.Entries) == 1 && (st.AddedKey || st.PrevLine != nil) {
					d2, err := parseKube(b)
					if err != nil {
						return nil, fmt.Errorf("setup kube: kuberc %s: %w", in.path, err)
					}
					if mv := d2.key(kubercListKey); mv != nil {
						line := mv.Key.GetToken().Position.Line
						restore := ""
						if st.PrevLine != nil {
							restore = *st.PrevLine
						}
						b = d2.replaceLines(line, line, restore)
					}
				}
			}
		}
	}
	st = kubercState{}
	if string(b) == string(in.orig) {
		return plan{{stateKey: stKey, state: st, dropEmpty: true}}, nil
	}
	return append(pl, change{act: actWrite, path: in.path, data: b, stateKey: stKey, state: st, dropEmpty: true}), nil
}
