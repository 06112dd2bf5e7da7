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
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/cache/keyring"
	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/helper/online"
	"github.com/authos/authos-credential-helper/internal/authos"
	"github.com/authos/authos-credential-helper/internal/config"
	"github.com/authos/authos-credential-helper/internal/front"
	"github.com/authos/authos-credential-helper/internal/prompt"
	"github.com/authos/authos-credential-helper/internal/redact"
	"github.com/authos/authos-credential-helper/internal/termsafe"
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
	GitErase(flags helper.Selector, req protocol.GitRequest) (helper.Dropped, error)
	DockerGet(ctx context.Context, serverURL string) (protocol.DockerCredentials, error)
	DockerStore(c protocol.DockerCredentials) error
	DockerErase(serverURL string) (helper.Dropped, error)
	DockerList() (map[string]string, error)
	TerraformGet(ctx context.Context, flags helper.Selector, host string) (helper.TerraformAnswer, error)
	TerraformStore(host string, c protocol.TerraformCredentials) error
	TerraformForget(flags helper.Selector, host string) (helper.Dropped, error)
	Token(ctx context.Context, flags helper.Selector) (helper.Credential, error)
}

func (env Env) credentials() credentials {
	if env.creds != nil {
		return env.creds
	}
	c := &envCredentials{src: envSource{env: env}} // one allocation on the unknown-host path
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

func (s *envSource) Open(raw []byte, need *helper.Need) (*helper.Wired, error) {
	a, err := hostApp(s.env, raw, need)
	if err != nil {
		return nil, err
	}
	return &helper.Wired{Config: a.cfg, Helper: a.h, Records: a.store, Prompter: a.prompterFor, Misses: cache.Misses(s.env.Paths.State)}, nil
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// Main runs one command and returns the exit code.
func Main(ctx context.Context, env Env) int {
	args := env.Args[1:]
	switch front.InvokedAs(env.Args[0]) {
	case "git-credential-authos":
		if soleHelp(args) {
			return printHelp(env, "git")
		}
		return report(env.Stderr, runGit(ctx, env, args))
	case "docker-credential-authos":
		if soleHelp(args) { // as docker-credential-helpers' own helpers do
			fmt.Fprintln(env.Stdout, dockerUsage)
			return ExitOK
		}
		return runDocker(ctx, env, args)
	case "terraform-credentials-authos":
		if soleHelp(args) {
			return printHelp(env, "terraform")
		}
		return report(env.Stderr, runTerraform(ctx, env, args))
	}
	if len(args) == 0 {
		writeUsage(env.Stderr)
		return ExitUsage
	}
	cmd, rest := args[0], args[1:]
	if front.HelpAsked(rest) && lookup(cmd) != nil {
		return printHelp(env, args...)
	}
	return run(ctx, env, cmd, rest)
}

// run dispatches one command, its help flags already handled.
func run(ctx context.Context, env Env, cmd string, rest []string) int {
	var err error
	switch cmd {
	case "token":
		err = runToken(ctx, env, rest)
	case "login":
		err = runLogin(ctx, env, rest)
	case "status":
		err = runStatus(ctx, env, rest)
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
	case "doctor":
		err = runDoctor(ctx, env, rest)
	case "help":
		err = runHelp(env, rest)
	case "-h", "-help", "--help":
		writeUsage(env.Stdout)
	case "completion":
		err = runCompletion(env, rest)
	case "man":
		err = runMan(env, rest)
	case "__complete":
		err = runComplete(env, rest)
	default:
		err = usageError{fmt.Sprintf("unknown command %q (see authos-credential-helper help)", cmd)}
	}
	return report(env.Stderr, err)
}

// printHelp writes the help of the command the words name (`X --help`,
// `X -h`, the client names' sole --help) to stdout.
func printHelp(env Env, words ...string) int {
	path, c := helpPath(words)
	writeHelp(env.Stdout, path, c)
	return ExitOK
}

// soleHelp is a client-name entry point's only help form: clients never
// send it, so it cannot collide with a protocol verb.
func soleHelp(args []string) bool {
	return len(args) == 1 && front.HelpAsked(args)
}

const dockerUsage = "Usage: docker-credential-authos <store|get|erase|list|version>"

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
	keys  *keyring.Keyring
	store *cache.Store
	h     *helper.Helper
	// verifier checks tokens against the servers' JWKS (status).
	verifier *online.Verifier
}

func newApp(env Env) (*app, error) {
	raw, err := config.ReadRaw(env.Paths.ConfigFile)
	if err != nil {
		return nil, err
	}
	return newAppFrom(env, raw)
}

// newAppFrom wires the app from config text already read, decoded whole.
func newAppFrom(env Env, raw []byte) (*app, error) {
	return hostApp(env, raw, nil)
}

// hostApp wires the app for a request that can use only what need selects
// (nil: everything, strictly checked).
func hostApp(env Env, raw []byte, need *config.Need) (*app, error) {
	var cfg *config.Config
	var err error
	if need == nil {
		cfg, err = config.Parse(env.Paths.ConfigFile, raw)
	} else {
		cfg, err = config.ParseFor(env.Paths.ConfigFile, raw, *need)
	}
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

// identityFlags registers the identity flags on fs, as identityDefs
// (commands.go) describes them.
func identityFlags(fs *flag.FlagSet) *helper.Selector {
	s := &helper.Selector{}
	for i, p := range [...]*string{&s.Profile, &s.Server, &s.Org, &s.Service, &s.ClientID} {
		fs.StringVar(p, identityDefs[i].name, "", identityDefs[i].help)
	}
	return s
}

// newFlagSet is the FlagSet of a command run by a person. Like
// protocolFlagSet it prints nothing itself: a bad flag is the one line
// report prints, and help (`X --help`) is rendered from the definitions
// in commands.go.
func newFlagSet(_ Env, name string) *flag.FlagSet {
	return protocolFlagSet(name)
}

// protocolFlagSet is for the client-facing modes: clients show a helper's
// stderr inside their own errors, so a bad flag gets the one-line error
// report prints, not the flag package's usage text. Every command's
// FlagSet is made here, so that commands_test.go can see each one.
func protocolFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if sawFlagSet != nil {
		sawFlagSet(fs)
	}
	return fs
}

// sawFlagSet, when set (by tests only), is told about every FlagSet made.
var sawFlagSet func(*flag.FlagSet)

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
	return a.decorate(&prompt.TextPrompter{W: a.env.Stderr, Live: isTerminal(a.env.Stderr), Width: termWidth(a.env.Stderr)})
}

// termWidth reports w's columns while a prompt is live (0 when unknown).
func termWidth(w io.Writer) func() int {
	return func() int {
		if f, ok := w.(*os.File); ok {
			if cols, _, err := term.GetSize(int(f.Fd())); err == nil {
				return cols
			}
		}
		return 0
	}
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
	fs := newFlagSet(env, "token")
	sel := identityFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	raw, err := config.ReadRaw(env.Paths.ConfigFile)
	if err != nil {
		return err
	}
	a, err := hostApp(env, raw, helper.NeedFor(*sel, env.Getenv))
	if err != nil {
		return err
	}
	id, err := a.resolve(*sel)
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
