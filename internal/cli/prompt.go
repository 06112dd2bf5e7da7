package cli

import (
	"os"
	"strings"

	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/internal/prompt"
)

// prompterFor returns where the device-flow prompt goes, and false when
// nobody can see it (then a miss fails at once with the command to run
// instead of waiting fifteen minutes for no one). git, docker and kubectl
// pass the helper's stderr through; Terraform swallows it unless the helper
// fails, so its prompt goes toTerminal. close releases a terminal it opened.
func (a *app) prompterFor(toTerminal bool) (p helper.Prompter, ok bool, close func()) {
	nop := func() {}
	if nobodyWatching(a.env) {
		return nil, false, nop
	}
	if toTerminal {
		tty, err := openTTY(a.env)
		if err != nil {
			return nil, false, nop
		}
		return a.decorate(&prompt.TextPrompter{W: tty, Live: true, Width: termWidth(tty)}), true, func() { tty.Close() }
	}
	return a.prompter(), true, nop
}

// nobodyWatching reports whether a prompt on stderr would reach no one: the
// user said so, git was told not to prompt (IDEs capture git's stderr and
// set GIT_TERMINAL_PROMPT=0), or CI runs us with no terminal.
func nobodyWatching(env Env) bool {
	if isTrue(env.Getenv("AUTHOS_NONINTERACTIVE")) {
		return true
	}
	if env.Getenv("GIT_TERMINAL_PROMPT") == "0" {
		return true
	}
	if strings.EqualFold(env.Getenv("CI"), "true") && !isTerminal(env.Stderr) {
		return !hasTTY(env)
	}
	return false
}

func isTrue(v string) bool { return v == "1" || strings.EqualFold(v, "true") }

func hasTTY(env Env) bool {
	f, err := openTTY(env)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// openTTYInput opens the controlling terminal for reading (CONIN$ on Windows).
func openTTYInput(env Env) (*os.File, error) {
	if env.TTY != nil {
		return env.TTY()
	}
	return os.OpenFile(ttyInPath, os.O_RDWR, 0)
}

// openTTY opens the controlling terminal (CONOUT$ on Windows).
func openTTY(env Env) (*os.File, error) {
	if env.TTY != nil {
		return env.TTY()
	}
	return os.OpenFile(ttyPath, os.O_RDWR, 0)
}
