package config

import (
	"bytes"
	"fmt"
	"sort"
)

// Need says which profiles one request can use. The cache-hit path decodes
// only those: the strict decode of a whole config.toml grows faster than
// the file (25 ms at 1,000 profiles), and a request uses one profile.
type Need struct {
	// Profiles are wanted by name (--profile, AUTHOS_PROFILE);
	// default_profile is always added.
	Profiles []string
	// Hosts add every profile whose table mentions one of them (Mentions):
	// a profile can only match a host its patterns spell out.
	Hosts []string
}

// ParseFor decodes, strictly, the top-level keys, [cache], [prompt] and the
// profiles need selects; the other [profiles.NAME] tables are split off by
// a linear scan and never decoded, so a mistake inside one goes unnoticed
// here (Parse, which login, status, setup and logout use, reports it).
// default_profile is still checked against every table name. A file whose
// shape the scan does not fully understand is decoded whole by Parse.
func ParseFor(path string, b []byte, need Need) (*Config, error) {
	l, ok := split(b)
	if !ok {
		return Parse(path, b)
	}
	keep := l.wanted(b, need)
	c := &Config{}
	if err := l.decode(path, b, keep, c); err != nil {
		return nil, err
	}
	if c.DefaultProfile != "" {
		i := l.index(c.DefaultProfile)
		if i < 0 {
			return nil, fmt.Errorf("config %s: default_profile %q names no [profiles.%s] table", path, c.DefaultProfile, c.DefaultProfile)
		}
		if !keep[i] {
			only := make([]bool, len(l.profiles))
			for j := range l.profiles {
				only[j] = string(l.profiles[j].name) == c.DefaultProfile
			}
			d := &Config{}
			if err := l.decodeOnly(path, b, only, d); err != nil {
				return nil, err
			}
			if c.Profiles == nil {
				c.Profiles = map[string]Profile{}
			}
			c.Profiles[c.DefaultProfile] = d.Profiles[c.DefaultProfile]
		}
	}
	return c, nil
}

// section is one part of the file: the top-level keys, a [cache] or
// [prompt] table, or a [profiles.NAME] table (name set), from its header
// line to the next header.
type section struct {
	name       []byte // in the file: names have no escapes
	start, end int    // byte offsets
	line       int    // 1-based line of start
}

type layout struct {
	other    []section // top-level keys, [cache], [prompt]
	profiles []section
}

func (l *layout) index(name string) int {
	for i, s := range l.profiles {
		if string(s.name) == name {
			return i
		}
	}
	return -1
}

// wanted marks the profiles need selects. A profile is kept when its table
// mentions a host as Mentions would say of the table alone; the file is
// searched once per host, not once per table.
func (l *layout) wanted(b []byte, need Need) []bool {
	keep := make([]bool, len(l.profiles))
	for i, s := range l.profiles {
		for _, n := range need.Profiles {
			if n != "" && n == string(s.name) {
				keep[i] = true
			}
		}
	}
	// mark keeps the profile whose table holds offset i and goes on
	// after that table.
	mark := func(i int) int {
		k := sort.Search(len(l.profiles), func(k int) bool { return l.profiles[k].end > i })
		if k < len(l.profiles) && l.profiles[k].start <= i {
			keep[k] = true
			return l.profiles[k].end
		}
		return i + 1 // outside every profile table
	}
	any := false
	defer func() {
		// A table defined twice is an error; decoding one copy would hide
		// it, so the copies of what is kept are decoded too.
		for i := range keep {
			if keep[i] {
				for j := range l.profiles {
					if j != i && string(l.profiles[j].name) == string(l.profiles[i].name) {
						keep[j] = true
					}
				}
			}
		}
	}()
	for _, h := range need.Hosts {
		if h = hostText(h); h != "" {
			any = true
			eachFold(b, h, mark)
		}
	}
	if any {
		eachEscape(b, mark)
	}
	return keep
}

// decode strictly decodes the other sections and the kept profiles.
func (l *layout) decode(path string, b []byte, keep []bool, c *Config) error {
	return l.decodeParts(path, b, keep, true, c)
}

// decodeOnly decodes the kept profiles alone.
func (l *layout) decodeOnly(path string, b []byte, keep []bool, c *Config) error {
	return l.decodeParts(path, b, keep, false, c)
}

// decodeParts joins the chosen sections in file order and decodes them;
// errors name the line in the file, not in the joined text.
func (l *layout) decodeParts(path string, b []byte, keep []bool, others bool, c *Config) error {
	var parts []section
	i, j := 0, 0
	for i < len(l.other) || j < len(l.profiles) {
		if j == len(l.profiles) || (i < len(l.other) && l.other[i].start < l.profiles[j].start) {
			if others {
				parts = append(parts, l.other[i])
			}
			i++
			continue
		}
		if keep[j] {
			parts = append(parts, l.profiles[j])
		}
		j++
	}
	n := 0
	for _, p := range parts {
		n += p.end - p.start + 1
	}
	buf := make([]byte, 0, n)
	type mark struct{ bufLine, fileLine int }
	marks := make([]mark, 0, len(parts))
	line := 1
	// Parts are in file order, so only the last can lack its newline.
	for _, p := range parts {
		marks = append(marks, mark{line, p.line})
		seg := b[p.start:p.end]
		buf = append(buf, seg...)
		line += bytes.Count(seg, []byte{'\n'})
	}
	fileLine := func(bufLine int) int {
		for k := len(marks) - 1; k >= 0; k-- {
			if marks[k].bufLine <= bufLine {
				return marks[k].fileLine + bufLine - marks[k].bufLine
			}
		}
		return bufLine
	}
	return decodeStrict(path, buf, c, fileLine)
}

// split cuts b into sections without decoding values. It reports false
// for anything it does not fully understand (multi-line strings, dotted or
// quoted top-level keys, array tables, any table but [cache], [prompt]
// and [profiles.NAME], a table defined twice): the caller then decodes the
// whole file, which is always right, only slower.
//
// Past the top-level keys it looks only at lines starting with "[": in a
// file Parse accepts, every such line is a header, since no field takes
// nested arrays and multi-line strings are refused first. A mistake
// elsewhere in a table (an array left open, say) is found when that table
// is decoded, and every section is decoded when every profile is needed,
// so ParseFor and Parse still agree (TestParseForMatchesParse).
func split(b []byte) (layout, bool) {
	// The lines of a multi-line string are not TOML lines; refused even
	// in a comment, where the check costs nothing to be wrong about.
	if bytes.Contains(b, []byte(`"""`)) || bytes.Contains(b, []byte("'''")) {
		return layout{}, false
	}
	tables := len(b)/256 + 1 // a guess: the plain shape has ~250 bytes a profile
	l := layout{other: make([]section, 0, 3), profiles: make([]section, 0, tables)}
	cur := section{start: 0, line: 1}
	isProfile := false
	var seenCache, seenPrompt bool // profiles defined twice: see wanted
	closeCur := func(end int) {
		cur.end = end
		switch {
		case isProfile:
			l.profiles = append(l.profiles, cur)
		case end > cur.start: // no top level before a first header: nothing to decode
			l.other = append(l.other, cur)
		}
	}
	// The top-level keys, line by line up to the first header: a dotted or
	// quoted key there could define profiles without a header.
	depth := 0 // open arrays carried over from earlier lines
	pos, line := 0, 1
	for pos < len(b) {
		end := lineEnd(b, pos)
		t := trimSpace(b[pos:end])
		if depth == 0 && len(t) > 0 && t[0] == '[' {
			break
		}
		pos, line = end+1, line+1
		switch {
		case depth > 0:
			if !scanValue(t, &depth) {
				return l, false
			}
		case len(t) == 0 || t[0] == '#':
		default:
			v, ok := keyValue(t, true)
			if !ok || !plainValue(v) && !scanValue(v, &depth) {
				return l, false
			}
		}
	}
	if depth > 0 {
		return l, false
	}
	// The headers: each "[" the first thing on its line.
	counted := pos // line is the line number of offset counted
	for pos < len(b) {
		i := bytes.IndexByte(b[pos:], '[')
		if i < 0 {
			break
		}
		i += pos
		ls := i
		for ls > 0 && (b[ls-1] == ' ' || b[ls-1] == '\t') {
			ls--
		}
		pos = i + 1
		if ls > 0 && b[ls-1] != '\n' {
			continue // inside a line: a value
		}
		le := lineEnd(b, i)
		pos = le + 1
		name, profile, ok := header(trimSpace(b[i:le]))
		if !ok {
			return l, false
		}
		if profile == 0 {
			seen := &seenCache
			if string(name) == "prompt" {
				seen = &seenPrompt
			}
			if *seen {
				return l, false
			}
			*seen = true
		}
		line += bytes.Count(b[counted:ls], []byte{'\n'})
		counted = ls
		closeCur(ls)
		cur = section{start: ls, line: line}
		isProfile = profile != 0
		if isProfile {
			cur.name = name
		}
	}
	closeCur(len(b))
	return l, true
}

// lineEnd is the offset of the newline ending the line at pos, or len(b).
func lineEnd(b []byte, pos int) int {
	if e := bytes.IndexByte(b[pos:], '\n'); e >= 0 {
		return pos + e
	}
	return len(b)
}

func trimSpace(s []byte) []byte {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}

// plainValue reports whether v holds no "[" or "{" and does not start a
// multi-line string: then it ends on its line.
func plainValue(v []byte) bool {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	if len(v) >= 3 && (v[0] == '"' || v[0] == '\'') && v[1] == v[0] && v[2] == v[0] {
		return false
	}
	for _, c := range v {
		if c == '[' || c == '{' {
			return false
		}
	}
	return true
}

// header reads a table header line: [cache], [prompt] (profile 0) or
// [profiles.NAME] (profile 1, NAME bare or quoted without escapes).
func header(t []byte) (name []byte, profile byte, ok bool) {
	if len(t) < 2 || t[1] == '[' {
		return nil, 0, false // an array of tables
	}
	close := bytes.IndexByte(t, ']')
	if close < 0 {
		return nil, 0, false
	}
	if rest := trimSpace(t[close+1:]); len(rest) > 0 && rest[0] != '#' {
		return nil, 0, false
	}
	var keys [3][]byte
	n := 0
	k := t[1:close]
	for {
		k = trimSpace(k)
		part, rest, ok := keyPart(k)
		if !ok {
			return nil, 0, false
		}
		if n == len(keys) {
			return nil, 0, false
		}
		keys[n] = part
		n++
		rest = trimSpace(rest)
		if len(rest) == 0 {
			break
		}
		if rest[0] != '.' {
			return nil, 0, false
		}
		k = rest[1:]
	}
	switch {
	case n == 1 && (string(keys[0]) == "cache" || string(keys[0]) == "prompt"):
		return keys[0], 0, true
	case n == 2 && string(keys[0]) == "profiles":
		return keys[1], 1, true
	}
	return nil, 0, false
}

// keyPart reads one bare or quoted (no escapes) key from the front of k.
func keyPart(k []byte) (part, rest []byte, ok bool) {
	if len(k) == 0 {
		return nil, nil, false
	}
	if q := k[0]; q == '"' || q == '\'' {
		end := bytes.IndexByte(k[1:], q)
		if end < 0 {
			return nil, nil, false
		}
		s := k[1 : 1+end]
		for _, c := range s {
			if c == '\\' || c < 0x20 || c == 0x7f {
				return nil, nil, false
			}
		}
		return s, k[2+end:], true
	}
	i := 0
	for i < len(k) && bareKeyChar(k[i]) {
		i++
	}
	if i == 0 {
		return nil, nil, false
	}
	return k[:i], k[i:], true
}

func bareKeyChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// keyValue checks a key = value line's key and returns the value text. At
// the top level only plain bare keys pass: a dotted or quoted one could
// define profiles, which the split would miss.
func keyValue(t []byte, topLevel bool) ([]byte, bool) {
	if topLevel {
		i := 0
		for i < len(t) && bareKeyChar(t[i]) {
			i++
		}
		key := string(t[:i])
		if i == 0 || key == "profiles" || key == "cache" || key == "prompt" {
			return nil, false
		}
		rest := trimSpace(t[i:])
		if len(rest) == 0 || rest[0] != '=' {
			return nil, false
		}
		return rest[1:], true
	}
	for {
		t = trimSpace(t)
		_, rest, ok := keyPart(t)
		if !ok {
			return nil, false
		}
		rest = trimSpace(rest)
		if len(rest) > 0 && rest[0] == '=' {
			return rest[1:], true
		}
		if len(rest) == 0 || rest[0] != '.' {
			return nil, false
		}
		t = rest[1:]
	}
}

// scanValue follows strings, arrays and inline tables through one line of
// a value, adding open arrays to depth. Strings must close on their line;
// multi-line strings and inline tables spanning lines are refused, since
// the lines inside them are not TOML lines and one could start with "[".
// A value without "[" or "{" needs no scan: a string that does not close
// on its line is an error, not a string going on (TOML), so the next line
// is a line of its own either way.
func scanValue(v []byte, depth *int) bool {
	inline := 0 // inline tables open on this line
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '"', '\'':
			if i+2 < len(v) && v[i+1] == c && v[i+2] == c {
				return false // a multi-line string
			}
			k := bytes.IndexByte(v[i+1:], c)
			if k < 0 {
				return false // unclosed on this line
			}
			j := i + 1 + k
			if c == '"' && bytes.IndexByte(v[i+1:j], '\\') >= 0 {
				// Escapes: the closing quote is the first one not escaped.
				for j = i + 1; j < len(v) && v[j] != c; j++ {
					if v[j] == '\\' {
						j++
					}
				}
				if j >= len(v) {
					return false
				}
			}
			i = j
		case '[':
			*depth++
		case ']':
			if *depth == 0 {
				return false
			}
			*depth--
		case '{':
			inline++
		case '}':
			if inline == 0 {
				return false
			}
			inline--
		case '#':
			return inline == 0
		}
	}
	return inline == 0
}
