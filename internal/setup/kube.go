package setup

import (
	"bytes"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/authos/authos-credential-helper/protocol"
)

// The kubeconfig is edited as lines, located with goccy/go-yaml's AST:
// re-printing the AST (file.String()) normalises comment spacing and
// trailing newlines, so only the lines of our own user entry (and a
// context's user value) are ever written; every other byte stays.

// kubeState is what undo needs to know about one kubeconfig.
type kubeState struct {
	Created       bool              `json:"created,omitempty"`         // setup created the file
	AddedUsersKey bool              `json:"added_users_key,omitempty"` // and the users: key
	PrevUsersLine *string           `json:"prev_users_line,omitempty"` // "users: []" or similar that setup expanded
	PrevUser      map[string]string `json:"prev_user,omitempty"`       // context -> its user before --context (raw YAML)
}

func (s kubeState) empty() bool {
	return !s.Created && !s.AddedUsersKey && s.PrevUsersLine == nil && len(s.PrevUser) == 0
}

const kubeSkeleton = "apiVersion: v1\nkind: Config\n"

// kubeconfigFile is the first path in $KUBECONFIG, else ~/.kube/config.
func (r *run) kubeconfigFile() string {
	for _, p := range filepath.SplitList(r.Getenv("KUBECONFIG")) {
		if p != "" {
			return r.expand(p)
		}
	}
	return filepath.Join(r.home, ".kube", "config")
}

func kubeUserName(profile string) string { return "authos-" + profile }

// kubeUserEntry renders our users[] entry with its "- " at indent.
func kubeUserEntry(p planOpts, indent string) string {
	lines := []string{
		"- name: " + yamlScalar(kubeUserName(p.profile)),
		"  user:",
		"    exec:",
		"      apiVersion: " + protocol.KubeAPIVersionV1,
		"      command: " + yamlScalar(p.kubeCommand()),
		"      args: [kube, --profile, " + yamlScalar(p.profile) + "]",
		"      interactiveMode: IfAvailable",
		"      provideClusterInfo: false",
		"      installHint: " + jsonString("Install authos-credential-helper (./install.sh) and run: authos-credential-helper login --profile "+shellQuote(p.profile)),
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(indent + l + "\n")
	}
	return b.String()
}

// Compiled on first use: package-level regexps would cost every start of
// this binary (every git fetch) a quarter of a millisecond.
var (
	plainYAML    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_/][A-Za-z0-9_./@+-]*$`) })
	reservedYAML = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(?i:true|false|yes|no|on|off|y|n|null|~|[-+]?[0-9.][0-9._eExXoOa-fA-F:+-]*|\.inf|\.nan)$`)
	})
)

// yamlScalar writes s plain when that reads back as the same string, else
// double-quoted (a JSON string is a valid YAML double-quoted scalar).
func yamlScalar(s string) string {
	if plainYAML().MatchString(s) && !reservedYAML().MatchString(s) {
		return s
	}
	return jsonString(s)
}

// kubeDoc is a parsed kubeconfig with its lines.
type kubeDoc struct {
	src   []byte
	lines []string // each with its "\n" (the last one may lack it)
	top   []*ast.MappingValueNode
}

func parseKube(src []byte) (*kubeDoc, error) {
	// Edits are made line by line; a CR that does not end a line would
	// merge with the newline of a line setup adds.
	for i, c := range src {
		if c == '\r' && (i+1 == len(src) || src[i+1] != '\n') {
			return nil, fmt.Errorf("it has a carriage return that does not end a line (byte %d)", i)
		}
	}
	f, err := parser.ParseBytes(src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	d := &kubeDoc{src: src, lines: strings.SplitAfter(string(src), "\n")}
	if n := len(d.lines); n > 0 && d.lines[n-1] == "" {
		d.lines = d.lines[:n-1]
	}
	if len(f.Docs) > 1 {
		return nil, fmt.Errorf("it holds %d YAML documents, expected one", len(f.Docs))
	}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		// The parser also gives no body for a lone tag ("!"), after which
		// our users: would not be a top-level key.
		for _, l := range d.lines {
			if t := strings.TrimSpace(l); t != "" && t != "---" && !strings.HasPrefix(t, "#") {
				return nil, fmt.Errorf("its top level is not a mapping")
			}
		}
		return d, nil
	}
	switch b := f.Docs[0].Body.(type) {
	case *ast.MappingNode:
		if b.IsFlowStyle {
			return nil, fmt.Errorf("it is in JSON or flow style; setup edits block-style YAML only")
		}
		d.top = b.Values
	case *ast.MappingValueNode:
		d.top = []*ast.MappingValueNode{b}
	case *ast.CommentGroupNode:
	default:
		return nil, fmt.Errorf("its top level is not a mapping")
	}
	// Keys setup adds start at column 1; a document whose top-level keys are
	// indented would not take them.
	for _, mv := range d.top {
		if tk := mv.Key.GetToken(); tk != nil && tk.Position.Column != 1 {
			return nil, fmt.Errorf("its top-level keys are indented (line %d); setup edits kubeconfigs whose top-level keys start in column 1", tk.Position.Line)
		}
		// Every kubeconfig key is a plain word (apiVersion, current-context);
		// anything else (a number, a quoted or complex key) YAML libraries
		// read in different ways.
		if k := mv.Key.String(); !plainKey(k) {
			return nil, fmt.Errorf("its top-level key %q is not a kubeconfig key", k)
		}
	}
	return d, nil
}

func plainKey(k string) bool {
	if k == "" || !(k[0] >= 'a' && k[0] <= 'z' || k[0] >= 'A' && k[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(k); i++ {
		if c := k[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (d *kubeDoc) key(name string) *ast.MappingValueNode {
	for _, mv := range d.top {
		if mv.Key.String() == name {
			return mv
		}
	}
	return nil
}

// mapGet finds key in a block mapping node.
func mapGet(n ast.Node, key string) *ast.MappingValueNode {
	switch m := n.(type) {
	case *ast.MappingNode:
		for _, mv := range m.Values {
			if mv.Key.String() == key {
				return mv
			}
		}
	case *ast.MappingValueNode:
		if m.Key.String() == key {
			return m
		}
	}
	return nil
}

// scalarString is a scalar node's string value ("" for others).
func scalarString(n ast.Node) string {
	if n == nil {
		return ""
	}
	switch n.(type) {
	case *ast.StringNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.LiteralNode:
		if tk := n.GetToken(); tk != nil {
			return tk.Value
		}
	}
	return ""
}

// namedEntry finds the entry of a block sequence whose name is name.
func namedEntry(seq *ast.SequenceNode, name string) (int, *ast.SequenceEntryNode) {
	for i, e := range seq.Entries {
		if mv := mapGet(e.Value, "name"); mv != nil && scalarString(mv.Value) == name {
			return i, e
		}
	}
	return -1, nil
}

type lastLine struct{ n int }

func (v *lastLine) Visit(n ast.Node) ast.Visitor {
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		if l := tk.Position.Line + strings.Count(strings.TrimSpace(tk.Origin), "\n"); l > v.n {
			v.n = l
		}
	}
	return v
}

// entryLines is the 1-based line range of a sequence entry.
func entryLines(e *ast.SequenceEntryNode) (first, last int) {
	v := &lastLine{n: e.Start.Position.Line}
	if e.Value != nil {
		ast.Walk(v, e.Value)
	}
	return e.Start.Position.Line, v.n
}

// replaceLines puts text in place of lines first..last (1-based,
// inclusive; last = first-1 inserts before first).
func (d *kubeDoc) replaceLines(first, last int, text string) []byte {
	var b strings.Builder
	for i := 0; i < first-1 && i < len(d.lines); i++ {
		b.WriteString(d.lines[i])
	}
	if first-1 > 0 && first-1 <= len(d.lines) && !strings.HasSuffix(d.lines[first-2], "\n") && text != "" {
		b.WriteString("\n")
	}
	b.WriteString(text)
	for i := last; i < len(d.lines); i++ {
		b.WriteString(d.lines[i])
	}
	return []byte(b.String())
}

// byteCol is the byte offset in line of a 1-based rune column.
func byteCol(line string, col int) int {
	n := 1
	for i := range line {
		if n == col {
			return i
		}
		n++
	}
	return len(line)
}

// valueSpan finds the raw text of a one-line scalar value on its line:
// from its column to the comment or line end.
func (d *kubeDoc) valueSpan(n ast.Node) (line, start, end int, ok bool) {
	tk := n.GetToken()
	if tk == nil || tk.Position == nil || tk.Position.Line < 1 || tk.Position.Line > len(d.lines) {
		return 0, 0, 0, false
	}
	line = tk.Position.Line
	text := d.lines[line-1]
	start = byteCol(text, tk.Position.Column)
	rest := strings.TrimRight(text[start:], "\r\n")
	if i := strings.Index(rest, " #"); i >= 0 && !strings.ContainsAny(rest[:1], `"'`) {
		rest = rest[:i]
	} else if strings.ContainsAny(rest[:min(1, len(rest))], `"'`) {
		q := rest[0]
		if j := strings.LastIndexByte(rest, q); j > 0 {
			rest = rest[:j+1]
		}
	}
	rest = strings.TrimRight(rest, " \t")
	return line, start, start + len(rest), true
}

func (d *kubeDoc) spliceInLine(line, start, end int, with string) []byte {
	l := d.lines[line-1]
	return d.replaceLines(line, line, l[:start]+with+l[end:])
}

// kubeCommand is the exec command setup writes: the bare name when the
// binary is found on PATH under it (so kubectl's installHint can show when it
// is gone), else the absolute path.
func (p planOpts) kubeCommand() string {
	if p.kubeCmd != "" {
		return p.kubeCmd
	}
	return p.binary
}

// KubeCommand is the exec command for the helper at binary (symlinks
// resolved): "authos-credential-helper" when lookPath finds that name and
// it is the same file, else binary. found is the path kubectl resolves the
// command to (what a kuberc allowlist must name).
func KubeCommand(binary string, lookPath func(string) (string, error)) (command, found string) {
	const name = "authos-credential-helper"
	if lp, err := lookPath(name); err == nil {
		if real, err := filepath.EvalSymlinks(lp); err == nil && real == binary {
			return name, lp
		}
	}
	return binary, binary
}

// KubeFile is what the helper reads of one kubeconfig file: the clusters'
// servers, contexts, and users' exec commands (setup's warnings, doctor's
// merged view).
type KubeFile struct {
	Clusters []struct {
		Name    string `yaml:"name"`
		Cluster struct {
			Server string `yaml:"server"`
		} `yaml:"cluster"`
	} `yaml:"clusters"`
	Contexts []struct {
		Name    string `yaml:"name"`
		Context struct {
			Cluster string `yaml:"cluster"`
			User    string `yaml:"user"`
		} `yaml:"context"`
	} `yaml:"contexts"`
	Users []struct {
		Name string `yaml:"name"`
		User struct {
			Exec *struct {
				Command string `yaml:"command"`
			} `yaml:"exec"`
		} `yaml:"user"`
	} `yaml:"users"`
}

// ReadKubeFile decodes b as a kubeconfig file.
func ReadKubeFile(b []byte) (KubeFile, error) {
	var f KubeFile
	err := yaml.Unmarshal(b, &f)
	return f, err
}

// plainHTTPContexts warns about each context using user whose cluster is
// http://: kubectl runs no exec plugin for such a cluster.
func plainHTTPContexts(b []byte, user string) []string {
	cfg, err := ReadKubeFile(b)
	if err != nil {
		return nil
	}
	var out []string
	for _, c := range cfg.Contexts {
		if c.Context.User != user {
			continue
		}
		for _, cl := range cfg.Clusters {
			if cl.Name == c.Context.Cluster && strings.HasPrefix(strings.ToLower(cl.Cluster.Server), "http://") {
				out = append(out, fmt.Sprintf("context %s's cluster %s is %s: kubectl runs no exec plugin over plain http, so it never asks the helper; use the cluster's https:// address",
					c.Name, cl.Name, cl.Cluster.Server))
			}
		}
	}
	return out
}

// kubeIn is what the kube plan is made from.
type kubeIn struct {
	path    string
	orig    []byte
	existed bool
	st      kubeState
	context string // --context, or ""
}

func (r *run) kubePlan() (plan, error) {
	in := kubeIn{path: r.kubeconfigFile(), context: r.Context}
	var err error
	if in.orig, in.existed, err = readFile(in.path); err != nil {
		return nil, err
	}
	r.state.get("kube|"+in.path, &in.st)
	pl, err := planKube(r.planOpts(), in)
	if err != nil {
		return nil, err
	}
	rc, err := r.kubercPlan()
	return append(pl, rc...), err
}

// planKube adds or replaces the user authos-<profile> in the kubeconfig
// (and points --context at it), or removes it.
func planKube(p planOpts, in kubeIn) (plan, error) {
	if p.undo && !in.existed {
		return nil, nil
	}
	b, st := in.orig, in.st
	st.PrevUser = maps.Clone(st.PrevUser) // the plan's to change, not in's
	if !in.existed {
		b = []byte(kubeSkeleton)
		st = kubeState{Created: true}
	}
	parse := func(b []byte) (*kubeDoc, error) {
		d, err := parseKube(b)
		if err != nil {
			return nil, fmt.Errorf("setup kube: %s: %w", in.path, err)
		}
		return d, nil
	}
	d, err := parse(b)
	if err != nil {
		return nil, err
	}
	if p.undo {
		return undoKube(p, in, d, st, parse)
	}
	return setKube(p, in, d, b, st, parse)
}

// undoKube removes our user (and the users: key or line setup expanded)
// and gives back each context setup pointed at it its old user.
func undoKube(p planOpts, in kubeIn, d *kubeDoc, st kubeState, parse func([]byte) (*kubeDoc, error)) (plan, error) {
	path, orig, b := in.path, in.orig, in.orig
	where, stKey, user := p.where(path), "kube|"+path, kubeUserName(p.profile)
	var pl plan
	var err error
	if mv := d.key("users"); mv != nil {
		if seq, ok := mv.Value.(*ast.SequenceNode); ok && !seq.IsFlowStyle {
			if _, e := namedEntry(seq, user); e != nil {
				first, last := entryLines(e)
				b = d.replaceLines(first, last, "")
				pl.say("removed", "user %s %s", user, where)
				if d, err = parse(b); err != nil {
					return nil, err
				}
				if mv := d.key("users"); mv != nil {
					if seq, ok := mv.Value.(*ast.SequenceNode); !ok || len(seq.Values) == 0 {
						line := mv.Key.GetToken().Position.Line
						switch {
						case st.PrevUsersLine != nil:
							b = d.replaceLines(line, line, *st.PrevUsersLine)
						case st.AddedUsersKey:
							b = d.replaceLines(line, line, "")
						}
						st.PrevUsersLine, st.AddedUsersKey = nil, false
					}
				}
			}
		}
	}
	for _, ctxName := range slices.Sorted(maps.Keys(st.PrevUser)) {
		prev := st.PrevUser[ctxName]
		if d, err = parse(b); err != nil {
			return nil, err
		}
		uv, err := d.contextUser(ctxName)
		if err != nil {
			delete(st.PrevUser, ctxName)
			continue
		}
		if scalarString(uv.Value) != user {
			continue // another profile's, or changed since
		}
		if line, s, e, ok := d.valueSpan(uv.Value); ok {
			b = d.spliceInLine(line, s, e, prev)
			pl.say("restored", "context %s's user to %s %s", ctxName, prev, where)
		}
		delete(st.PrevUser, ctxName)
	}
	pl.finishUndo(p.home, path, b, orig, string(b) == kubeSkeleton, &st.Created, stKey, &st)
	return pl, nil
}

// setKube adds our user, or replaces it when it differs, and with --context
// points that context at it; b is the file (a skeleton when there is none).
func setKube(p planOpts, in kubeIn, d *kubeDoc, b []byte, st kubeState, parse func([]byte) (*kubeDoc, error)) (plan, error) {
	path, orig := in.path, in.orig
	where, stKey, user := p.where(path), "kube|"+path, kubeUserName(p.profile)
	var pl plan
	var err error
	// Check --context before changing anything.
	if in.context != "" {
		if _, err := d.contextUser(in.context); err != nil {
			return nil, fmt.Errorf("setup kube: %w %s", err, where)
		}
	}

	mv := d.key("users")
	switch {
	case mv == nil:
		text := "users:\n" + kubeUserEntry(p, "")
		b = d.replaceLines(len(d.lines)+1, len(d.lines), text)
		st.AddedUsersKey = true
		pl.say("added", "user %s running %s %s", user, p.kubeCommand(), where)
	case isEmptyValue(mv.Value):
		line := mv.Key.GetToken().Position.Line
		prev := d.lines[line-1]
		keyText := prev[:byteCol(prev, mv.Key.GetToken().Position.Column)]
		b = d.replaceLines(line, line, keyText+"users:\n"+kubeUserEntry(p, keyText))
		if !strings.HasSuffix(prev, "\n") {
			prev += "\n"
		}
		st.PrevUsersLine = &prev
		pl.say("added", "user %s running %s %s", user, p.kubeCommand(), where)
	default:
		seq, ok := mv.Value.(*ast.SequenceNode)
		if !ok || seq.IsFlowStyle || len(seq.Entries) == 0 {
			return nil, fmt.Errorf("setup kube: users is not a block-style list %s; edit it by hand", where)
		}
		indent := strings.Repeat(" ", seq.Entries[0].Start.Position.Column-1)
		entry := kubeUserEntry(p, indent)
		if _, e := namedEntry(seq, user); e != nil {
			first, last := entryLines(e)
			entry = kubeUserEntry(p, strings.Repeat(" ", e.Start.Position.Column-1))
			if old := strings.Join(d.lines[first-1:last], ""); old != entry {
				b = d.replaceLines(first, last, entry)
				pl.say("replaced", "user %s, now running %s %s", user, p.kubeCommand(), where)
			}
		} else {
			_, last := entryLines(seq.Entries[len(seq.Entries)-1])
			b = d.replaceLines(last+1, last, entry)
			pl.say("added", "user %s running %s %s", user, p.kubeCommand(), where)
		}
	}

	if in.context != "" {
		if d, err = parse(b); err != nil {
			return nil, err
		}
		uv, err := d.contextUser(in.context)
		if err != nil {
			return nil, fmt.Errorf("setup kube: %w %s", err, where)
		}
		if scalarString(uv.Value) != user {
			line, s, e, ok := d.valueSpan(uv.Value)
			if !ok {
				return nil, fmt.Errorf("setup kube: cannot locate context %s's user %s", in.context, where)
			}
			prev := d.lines[line-1][s:e]
			if st.PrevUser == nil {
				st.PrevUser = map[string]string{}
			}
			st.PrevUser[in.context] = prev
			b = d.spliceInLine(line, s, e, yamlScalar(user))
			pl.say("set", "context %s's user to %s (was %s) %s", in.context, user, prev, where)
		}
	}

	for _, w := range plainHTTPContexts(b, user) {
		pl = append(pl, change{warn: w})
	}
	if bytes.Equal(b, orig) {
		return pl, nil
	}
	if err := validateKube(b, user, p.kubeCommand(), in.context); err != nil {
		return nil, fmt.Errorf("setup kube: internal error, not writing %s: %w", path, err)
	}
	return append(pl, change{act: actWrite, path: path, data: b, stateKey: stKey, state: st}), nil
}

func isEmptyValue(n ast.Node) bool {
	switch v := n.(type) {
	case nil, *ast.NullNode:
		return true
	case *ast.SequenceNode:
		return v.IsFlowStyle && len(v.Values) == 0
	}
	return false
}

// contextUser finds contexts[name=name].context.user.
func (d *kubeDoc) contextUser(name string) (*ast.MappingValueNode, error) {
	mv := d.key("contexts")
	if mv == nil {
		return nil, fmt.Errorf("no context %q (the kubeconfig has no contexts)", name)
	}
	seq, ok := mv.Value.(*ast.SequenceNode)
	if !ok || seq.IsFlowStyle {
		return nil, fmt.Errorf("contexts is not a block-style list")
	}
	_, e := namedEntry(seq, name)
	if e == nil {
		return nil, fmt.Errorf("no context %q", name)
	}
	c := mapGet(e.Value, "context")
	if c == nil {
		return nil, fmt.Errorf("context %q has no context: mapping", name)
	}
	u := mapGet(c.Value, "user")
	if u == nil {
		return nil, fmt.Errorf("context %q has no user key to set", name)
	}
	switch u.Value.(type) {
	case *ast.StringNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
	default:
		return nil, fmt.Errorf("context %q's user is not a plain value", name)
	}
	return u, nil
}

// validateKube checks that the edited kubeconfig parses and holds our user.
// kubeShape is the part of a kubeconfig that validateKube reads back.
type kubeShape struct {
	Users []struct {
		Name string `yaml:"name"`
		User struct {
			Exec struct {
				APIVersion string   `yaml:"apiVersion"`
				Command    string   `yaml:"command"`
				Args       []string `yaml:"args"`
			} `yaml:"exec"`
		} `yaml:"user"`
	} `yaml:"users"`
	Contexts []struct {
		Name    string `yaml:"name"`
		Context struct {
			User string `yaml:"user"`
		} `yaml:"context"`
	} `yaml:"contexts"`
}

func validateKube(b []byte, user, binary, context string) error {
	var cfg kubeShape
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		return err
	}
	found := 0
	for _, u := range cfg.Users {
		if u.Name == user {
			found++
			if u.User.Exec.Command != binary || u.User.Exec.APIVersion != protocol.KubeAPIVersionV1 || len(u.User.Exec.Args) != 3 {
				return fmt.Errorf("user %s reads back as %+v", user, u.User.Exec)
			}
		}
	}
	if found != 1 {
		return fmt.Errorf("%d users named %s", found, user)
	}
	if context != "" {
		for _, c := range cfg.Contexts {
			if c.Name == context && c.Context.User != user {
				return fmt.Errorf("context %s reads back with user %q", context, c.Context.User)
			}
		}
	}
	return nil
}
