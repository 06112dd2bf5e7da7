package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"

	"github.com/authos/authos-credential-helper/internal/prompt"
	"github.com/authos/authos-credential-helper/internal/termsafe"
)

// opener starts the program that shows uri to the person: openBrowser, or
// a recorder in tests.
type opener func(goos, uri string, environ []string) error

// decorate adds the prompt's extras: a QR code when the prompt goes to a
// terminal, and the offer to open the browser on a desktop session that is
// not SSH. AUTHOS_NO_QR=1 / AUTHOS_NO_BROWSER=1, or qr / open_browser =
// false under [prompt] in config.toml, turn them off.
func (a *app) decorate(p *prompt.TextPrompter) *prompt.TextPrompter {
	return a.decorateWith(p, openBrowser)
}

// decorateWith is decorate with the opener given (tests record its calls).
func (a *app) decorateWith(p *prompt.TextPrompter, open opener) *prompt.TextPrompter {
	if !p.Live {
		return p // not a terminal: nobody to scan a code or press Enter
	}
	p.QR = a.cfg.Prompt.QREnabled() && !isTrue(a.env.Getenv("AUTHOS_NO_QR"))
	if a.cfg.Prompt.BrowserEnabled() && !isTrue(a.env.Getenv("AUTHOS_NO_BROWSER")) && canOpenBrowser(runtime.GOOS, a.env.Getenv) {
		p.Offer = func(uri string) bool { return a.offerBrowser(uri, p.W, open) }
	}
	return p
}

// canOpenBrowser reports whether a browser opened here would be in front of
// the person: a graphical session, and not one reached over SSH.
func canOpenBrowser(goos string, getenv func(string) string) bool {
	if getenv("SSH_CONNECTION") != "" || getenv("SSH_CLIENT") != "" || getenv("SSH_TTY") != "" {
		return false
	}
	switch goos {
	case "darwin", "windows":
		return true
	}
	return getenv("DISPLAY") != "" || getenv("WAYLAND_DISPLAY") != ""
}

// offerBrowser starts waiting, in a goroutine, for the person to press
// Enter on the terminal, then opens uri; the process may end first. It
// reports false for a link termsafe.CheckLink refuses (before touching the
// terminal), when it cannot read the terminal, or only from the background
// (git fetch &), where a read would stop us with SIGTTIN.
func (a *app) offerBrowser(uri string, w io.Writer, open opener) bool {
	if termsafe.CheckLink(uri) != nil {
		return false
	}
	in, err := openTTYInput(a.env)
	if err != nil {
		return false
	}
	if !inForeground(in) {
		in.Close()
		return false
	}
	go openOnEnter(in, uri, w, open, withoutSecrets(os.Environ(), a.tokenVars()...))
	return true
}

// tokenVars are the variables the config says may hold a token (each
// profile's token_env), besides AUTHOS_TOKEN.
func (a *app) tokenVars() []string {
	var out []string
	for _, p := range a.cfg.Profiles {
		if p.TokenEnv != "" {
			out = append(out, p.TokenEnv)
		}
	}
	return out
}

// openOnEnter waits for a line on in, then opens uri with environ.
func openOnEnter(in io.ReadCloser, uri string, w io.Writer, open opener, environ []string) {
	defer in.Close()
	if _, err := bufio.NewReader(in).ReadString('\n'); err != nil {
		return
	}
	if err := open(runtime.GOOS, uri, environ); err != nil {
		fmt.Fprintf(w, "authos: could not open a browser (%s); open the address yourself\n", termsafe.Strip(err.Error()))
	}
}

// browserCommand is how each OS opens a URL.
func browserCommand(goos, uri string) *exec.Cmd {
	switch goos {
	case "darwin":
		return exec.Command("open", uri)
	case "windows":
		return exec.Command("rundll32", "url.dll,FileProtocolHandler", uri)
	}
	return exec.Command("xdg-open", uri)
}

// openBrowser starts the OS's URL opener with stdout and stderr discarded
// (stdout belongs to the protocol) and without our secrets in its
// environment. The URL itself holds none: AuthOS never puts the code in it.
// Whatever its caller checked, it opens only what termsafe.CheckLink allows,
// so no file:, javascript: or option-like argument reaches xdg-open or
// rundll32.
func openBrowser(goos, uri string, environ []string) error {
	if err := termsafe.CheckLink(uri); err != nil {
		return fmt.Errorf("not opening the sign-in address: %w", err)
	}
	if strings.HasPrefix(uri, "-") { // CheckLink rules it out; never an option to the opener
		return errors.New("not opening the sign-in address: it starts with -")
	}
	cmd := browserCommand(goos, uri)
	cmd.Env = withoutSecrets(environ)
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait()
	return nil
}

// withoutSecrets drops the variables that carry secrets of ours: the file
// keyring's passphrase, a CI token (AUTHOS_TOKEN), and the extra names
// (profiles' token_env).
func withoutSecrets(environ []string, extra ...string) []string {
	drop := append([]string{"AUTHOS_CACHE_PASSPHRASE", "AUTHOS_TOKEN"}, extra...)
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(drop, name) {
			out = append(out, kv)
		}
	}
	return out
}
