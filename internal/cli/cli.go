// Package cli implements the command-line contract (docs/cli.md):
// parsing, identity flags, exit codes, and wiring helper/ to real clocks,
// keyrings, locks and HTTP.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/internal/authos"
	"github.com/authos/authos-credential-helper/internal/config"
	"github.com/authos/authos-credential-helper/internal/prompt"
	"github.com/authos/authos-credential-helper/internal/redact"
	"github.com/authos/authos-credential-helper/internal/termsafe"
	"github.com/authos/authos-credential-helper/internal/version"
	"github.com/authos/authos-credential-helper/internal/wiring"
	"github.com/authos/authos-credential-helper/protocol"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// Env is the process's outside world, injected so tests can run commands in
// process.
type Env struct {
	Args   []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	Paths  config.Paths
	// TTY opens the controlling terminal; nil means /dev/tty.
	TTY func() (*os.File, error)

	creds credentials // nil: the real use case; tests set a fake
}

// credentials is the use case the client front ends call
// (helper.Credentials).
type credentials interface {
	GitGet(ctx context.Context, flags helper.Selector, req protocol.GitRequest) (protocol.GitAnswer, bool, error)
	GitErase(flags helper.Selector, req protocol.GitRequest) error
	DockerGet(ctx context.Context, serverURL string) (protocol.DockerCredentials, error)
	DockerStore(c protocol.DockerCredentials) error
	DockerErase(serverURL string) error
	DockerList() (map[string]string, error)
	TerraformGet(ctx context.Context, flags helper.Selector, host string) (helper.TerraformAnswer, error)
	TerraformStore(host string, c protocol.TerraformCredentials) error
	TerraformForget(host string) error
	Token(ctx context.Context, flags helper.Selector) (helper.Credential, error)
}

func (env Env) credentials() credentials {
	if env.creds != nil {
		return env.creds
	}
	c := &envCredentials{src: envSource{env}} // one allocation on the unknown-host path
	c.Source = &c.src
	return c
}

type envCredentials struct {
	helper.Credentials
	src envSource
}

// envSource is helper.Credentials' view of the process's environment.
type envSource struct{ env Env }

func (s *envSource) ConfigText() ([]byte, error) { return config.ReadRaw(s.env.Paths.ConfigFile) }
func (s *envSource) Getenv(key string) string    { return s.env.Getenv(key) }

// Stored needs no key to see that a record exists.
func (s *envSource) Stored(name string) bool {
	return (&cache.Store{Dir: s.env.Paths.Tokens}).Has(name)
}

func (s *envSource) Open(raw []byte) (*helper.Wired, error) {
	a, err := newAppFrom(s.env, raw)
	if err != nil {
		return nil, err
	}
	return &helper.Wired{Config: a.cfg, Helper: a.h, Records: a.store, Prompter: a.prompterFor}, nil
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usage = `usage: authos-credential-helper <command> [flags]

commands:
  login     sign in now (device flow) and cache the token
  token     print a valid access token, signing in first if needed
  status    list cached identities (--json for JSON); never prints tokens
  logout    forget the token, then end its session at the server (--all: every
            identity; --unreadable: only records that can no longer be read)
  git       git credential helper protocol (also as git-credential-authos)
  docker    docker credential helper protocol (also as docker-credential-authos)
  kube      kubectl exec credential plugin (ExecCredential v1, v1beta1)
  terraform Terraform/OpenTofu credentials helper (also as terraform-credentials-authos)
  setup     configure git|docker|kube|terraform for a profile (--undo, --dry-run)
  dev-server  run the local AuthOS-compatible development server
  activation-server  serve the /activate pages for an AuthOS server (--server URL --listen ADDR)
  version   print version and compiled-in keyring backends

identity flags (login, token, logout):
  --profile NAME | --server URL --org SLUG --service SLUG --client-id ID
  (or AUTHOS_PROFILE / AUTHOS_SERVER, AUTHOS_ORG, AUTHOS_SERVICE, AUTHOS_CLIENT_ID;
   or default_profile in config.toml)
`

// Main runs one command and returns the exit code.
func Main(ctx context.Context, env Env) int {
	args := env.Args[1:]
	switch invokedAs(env.Args[0]) {
	case "git-credential-authos":
		return report(env.Stderr, runGit(ctx, env, args))
	case "docker-credential-authos":
		return runDocker(ctx, env, args)
	case "terraform-credentials-authos":
		return report(env.Stderr, runTerraform(ctx, env, args))
	}
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, usage)
		return ExitUsage
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "token":
		err = runToken(ctx, env, rest)
	case "login":
		err = runLogin(ctx, env, rest)
	case "status":
		err = runStatus(env, rest)
	case "logout":
		err = runLogout(ctx, env, rest)
	case "version", "--version":
		err = runVersion(env, rest)
	case "git":
		err = runGit(ctx, env, rest)
	case "docker":
		return runDocker(ctx, env, rest)
	case "kube":
		err = runKube(ctx, env, rest)
	case "terraform":
		err = runTerraform(ctx, env, rest)
	case "dev-server":
		return runDevServer(ctx, env, rest)
	case "activation-server":
		err = runActivationServer(ctx, env, rest)
	case "setup":
		err = runSetup(ctx, env, rest)
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, usage)
		return ExitOK
	default:
		err = usageError{fmt.Sprintf("unknown command %q (see authos-credential-helper help)", cmd)}
	}
	return report(env.Stderr, err)
}

// invokedAs is the program name without directory, ".exe" and a
// Terraform-style "_vX.Y.Z" suffix.
func invokedAs(arg0 string) string {
	name := strings.TrimSuffix(filepath.Base(arg0), ".exe")
	if i := strings.LastIndex(name, "_v"); i > 0 && strings.IndexFunc(name[i+2:], func(r rune) bool { return (r < '0' || r > '9') && r != '.' }) < 0 {
		name = name[:i]
	}
	return name
}

// report prints err as one line and maps it to an exit code.
func report(stderr io.Writer, err error) int {
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitUsage
	}
	// Stripped first, so that no escape between its parts can hide a token
	// from redact; redact only adds printable text.
	msg := redact.String(strings.Join(strings.Fields(termsafe.Strip(err.Error())), " "))
	if errors.Is(err, context.Canceled) {
		msg = "interrupted; nothing was stored"
	}
	fmt.Fprintf(stderr, "authos-credential-helper: %s\n", msg)
	var ue usageError
	var ie *helper.IdentityError
	if errors.As(err, &ue) || errors.As(err, &ie) {
		return ExitUsage
	}
	return ExitFailure
}

// app is the wiring one command needs.
type app struct {
	env   Env
	cfg   *config.Config
	keys  *cache.Keyring
	store *cache.Store
	h     *helper.Helper
	// verifier checks tokens against the servers' JWKS (status).
	verifier *helper.Verifier
}

func newApp(env Env) (*app, error) {
	raw, err := config.ReadRaw(env.Paths.ConfigFile)
	if err != nil {
		return nil, err
	}
	return newAppFrom(env, raw)
}

// newAppFrom wires the app from config text already read.
func newAppFrom(env Env, raw []byte) (*app, error) {
	cfg, err := config.Parse(env.Paths.ConfigFile, raw)
	if err != nil {
		return nil, err
	}
	p := wiring.Build(cfg, wiring.Options{
		Paths: env.Paths, Getenv: env.Getenv, Passphrase: ttyPassphrase(env), WrapLogin: interruptible, Warn: env.Stderr,
	})
	return &app{env: env, cfg: cfg, keys: p.Keys, store: p.Store, h: p.Helper, verifier: p.Verifier}, nil
}

// interruptible makes Ctrl-C (and SIGTERM) end a login cleanly: the prompt's
// status line is cleared, nothing is stored, the error says so. Installed
// only here, so that the hit path never pays for os/signal.
func interruptible(login helper.LoginFunc) helper.LoginFunc {
	return func(ctx context.Context, id helper.Identity, p helper.Prompter) (authos.Token, error) {
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		return login(ctx, id, p)
	}
}

// identityFlags registers the identity flags on fs.
func identityFlags(fs *flag.FlagSet) *helper.Selector {
	s := &helper.Selector{}
	fs.StringVar(&s.Profile, "profile", "", "profile `name` from config.toml")
	fs.StringVar(&s.Server, "server", "", "AuthOS base `URL`")
	fs.StringVar(&s.Org, "org", "", "organization `slug`")
	fs.StringVar(&s.Service, "service", "", "service `slug`")
	fs.StringVar(&s.ClientID, "client-id", "", "client `id`")
	return s
}

func newFlagSet(env Env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// protocolFlagSet is for the client-facing modes: clients show a helper's
// stderr inside their own errors, so a bad flag gets the one-line error
// report prints, not the flag package's usage text.
func protocolFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return nil
}

func (a *app) resolve(sel helper.Selector) (helper.Identity, error) {
	id, err := helper.Resolve(a.cfg, sel, helper.SelectorFromEnv(a.env.Getenv))
	if err != nil {
		return id, usageError{err.Error()}
	}
	return id, nil
}

// prompter writes the device-flow prompt to stderr, live when it is a terminal.
func (a *app) prompter() *prompt.TextPrompter {
	return a.decorate(&prompt.TextPrompter{W: a.env.Stderr, Live: isTerminal(a.env.Stderr)})
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// identityCommand parses a command that acts on one identity and wires it.
func identityCommand(env Env, name string, args []string) (*app, helper.Identity, error) {
	fs := newFlagSet(env, name)
	sel := identityFlags(fs)
	if err := parse(fs, args); err != nil {
		return nil, helper.Identity{}, err
	}
	a, err := newApp(env)
	if err != nil {
		return nil, helper.Identity{}, err
	}
	id, err := a.resolve(*sel)
	return a, id, err
}

func runToken(ctx context.Context, env Env, args []string) error {
	a, id, err := identityCommand(env, "token", args)
	if err != nil {
		return err
	}
	cred, err := a.h.Token(ctx, helper.Request{Identity: id, NonInteractive: nobodyWatching(env), Prompt: a.prompter()})
	if err != nil {
		return err
	}
	_, err = io.WriteString(env.Stdout, cred.Token+"\n")
	return err
}

func runLogin(ctx context.Context, env Env, args []string) error {
	a, id, err := identityCommand(env, "login", args)
	if err != nil {
		return err
	}
	cred, err := a.h.Token(ctx, helper.Request{Identity: id, Force: true, Prompt: a.prompter()})
	if err != nil {
		return err
	}
	who := cred.Email
	if who == "" {
		who = cred.Subject
	}
	if cred.CacheErr != nil {
		// The helper's warning said why; login exists to cache, so it failed.
		return fmt.Errorf("signed in to %s as %s, but nothing was stored (see the warning above)", id, who)
	}
	backend, _ := a.keys.Backend()
	fmt.Fprintf(env.Stderr, "authos: signed in to %s as %s; token cached (%s keyring), used until %s\n",
		id, who, backend, cred.ExpiresAt.Local().Format("2006-01-02 15:04"))
	return nil
}

func runVersion(env Env, args []string) error {
	if err := parse(newFlagSet(env, "version"), args); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "authos-credential-helper %s (commit %s)\ncache backends compiled in: %s\n",
		version.Version, version.Commit, strings.Join(cache.CompiledBackends(), ", "))
	return nil
}

// ttyPassphrase asks for the file backend's passphrase on the terminal,
// never on stdout.
func ttyPassphrase(env Env) func(string) (string, error) {
	return func(prompt string) (string, error) {
		tty, err := openTTY(env)
		if err != nil {
			return "", errors.New("the file cache backend needs a passphrase: set AUTHOS_CACHE_PASSPHRASE (no terminal to ask on)")
		}
		defer tty.Close()
		in := tty
		if ttyInPath != ttyPath && env.TTY == nil {
			// Windows: the console is written through CONOUT$, read through CONIN$.
			if in, err = os.OpenFile(ttyInPath, os.O_RDWR, 0); err != nil {
				return "", fmt.Errorf("opening the console for the passphrase: %w", err)
			}
			defer in.Close()
		}
		fmt.Fprintf(tty, "%s: ", prompt)
		b, err := term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(tty)
		return string(b), err
	}
}

func untilText(t time.Time, now time.Time) string {
	d := t.Sub(now)
	if d <= 0 {
		return "expired"
	}
	if d > time.Hour {
		return fmt.Sprintf("in %dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("in %dm", int(d.Minutes())+1)
}
