package cli

import (
	"fmt"
	"io"
	"strings"
)

// Help text, rendered from the definitions in commands.go only when asked
// for: nothing here runs on a client's request.

const helpWidth = 80

// writeUsage writes the top-level usage: every command with its summary.
func writeUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString("usage: " + prog + " <command> [flags]\n\ncommands:\n")
	rows := [][2]string{}
	var identity []string
	for _, c := range commands {
		if c.hidden {
			continue
		}
		rows = append(rows, [2]string{c.name, c.summary})
		if c.identity == allIdentity {
			identity = append(identity, c.name)
		}
	}
	writeRows(&b, rows)
	b.WriteString("\nidentity flags (" + strings.Join(identity, ", ") + "):\n")
	b.WriteString("  " + identitySynopsis() + "\n")
	b.WriteString("  (or AUTHOS_PROFILE / AUTHOS_SERVER, AUTHOS_ORG, AUTHOS_SERVICE, AUTHOS_CLIENT_ID;\n")
	b.WriteString("   or default_profile in config.toml)\n")
	b.WriteString("\n" + prog + " help COMMAND (or COMMAND --help) shows a command's flags.\n")
	io.WriteString(w, b.String())
}

// identitySynopsis is "--profile NAME | --server URL --org SLUG ...".
func identitySynopsis() string {
	parts := make([]string, 0, len(identityDefs))
	for _, f := range identityDefs {
		parts = append(parts, "--"+f.name+" "+f.arg)
	}
	return parts[0] + " | " + strings.Join(parts[1:], " ")
}

// writeHelp writes the help of the command at path (as `help PATH` and
// `PATH --help` print it).
func writeHelp(w io.Writer, path []string, c *command) {
	var b strings.Builder
	full := prog + " " + strings.Join(path, " ")
	fmt.Fprintf(&b, "usage: %s", full)
	if c.args != "" {
		b.WriteString(" " + c.args)
	}
	b.WriteString("\n")
	if c.identity == allIdentity {
		b.WriteString("  identity flags: " + identitySynopsis() + "\n")
	}
	b.WriteString("\n" + sentence(c.summary) + "\n")
	for _, p := range strings.Split(c.about, "\n\n") {
		b.WriteString("\n")
		wrap(&b, p, "", helpWidth)
	}
	if len(c.verbs) > 0 {
		b.WriteString("\n" + c.words() + ":\n")
		rows := make([][2]string, 0, len(c.verbs))
		for _, v := range c.verbs {
			rows = append(rows, [2]string{v.name, v.summary})
		}
		writeRows(&b, rows)
	}
	if len(c.subs) > 0 {
		b.WriteString("\ncommands:\n")
		rows := make([][2]string, 0, len(c.subs))
		for _, s := range c.subs {
			rows = append(rows, [2]string{s.name, s.summary})
		}
		writeRows(&b, rows)
	}
	if fl := c.shownFlags(); len(fl) > 0 {
		b.WriteString("\nflags:\n")
		rows := make([][2]string, 0, len(fl))
		for _, f := range fl {
			rows = append(rows, [2]string{f.synopsis(), f.helpWithDefault()})
		}
		writeRows(&b, rows)
	}
	io.WriteString(w, b.String())
}

// synopsis is "--name ARG", or "--name" for a bool flag.
func (f flagDef) synopsis() string {
	if f.arg == "" {
		return "--" + f.name
	}
	return "--" + f.name + " " + f.arg
}

func (f flagDef) helpWithDefault() string {
	if f.def == "" {
		return f.help
	}
	return f.help + " (default " + f.def + ")"
}

// writeRows writes "  left  right" rows, the right column aligned and
// wrapped; a left column too wide for the alignment gets its own line.
func writeRows(b *strings.Builder, rows [][2]string) {
	width := 0
	for _, r := range rows {
		if n := len(r[0]); n > width && n <= 24 {
			width = n
		}
	}
	indent := strings.Repeat(" ", 2+width+2)
	for _, r := range rows {
		if len(r[0]) > width {
			b.WriteString("  " + r[0] + "\n")
			wrap(b, r[1], indent, helpWidth)
			continue
		}
		var line strings.Builder
		wrap(&line, r[1], indent, helpWidth)
		b.WriteString("  " + r[0] + strings.Repeat(" ", width-len(r[0])+2) + strings.TrimPrefix(line.String(), indent))
	}
}

// wrap writes text in lines of at most width columns, each starting with
// indent.
func wrap(b *strings.Builder, text, indent string, width int) {
	n := 0
	for i, word := range strings.Fields(text) {
		switch {
		case i == 0:
			b.WriteString(indent + word)
			n = len(indent) + len(word)
		case n+1+len(word) > width:
			b.WriteString("\n" + indent + word)
			n = len(indent) + len(word)
		default:
			b.WriteString(" " + word)
			n += 1 + len(word)
		}
	}
	b.WriteString("\n")
}

// helpPath is the command the words after `help` (or before `--help`)
// name: the command, then a subcommand if the next word is one.
func helpPath(words []string) ([]string, *command) {
	c := lookup(words[0])
	if c == nil {
		return nil, nil
	}
	path := words[:1]
	if len(words) > 1 {
		if s := lookup(words[0], words[1]); s != nil {
			return words[:2], s
		}
	}
	return path, c
}

// runHelp is `help [COMMAND [SUBCOMMAND]]`.
func runHelp(env Env, args []string) error {
	fs := newFlagSet(env, "help")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	words := fs.Args()
	if len(words) == 0 {
		writeUsage(env.Stdout)
		return nil
	}
	path, c := helpPath(words)
	if c == nil || len(words) > len(path)+1 || (len(words) == len(path)+1 && !c.hasVerb(words[len(path)])) {
		return usageError{fmt.Sprintf("help: no command %q (see %s help)", strings.Join(words, " "), prog)}
	}
	writeHelp(env.Stdout, path, c)
	return nil
}

func (c *command) hasVerb(name string) bool {
	for _, v := range c.verbs {
		if v.name == name {
			return true
		}
	}
	return false
}

// words is what the command's verbs are called in its help.
func (c *command) words() string {
	if c.wordsAre == "" {
		return "verbs"
	}
	return c.wordsAre
}

// sentence is a summary as a sentence: capitalised, with a full stop.
func sentence(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:] + "."
}
