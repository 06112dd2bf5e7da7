package cli

// The command definitions: the one source of the usage text, `help`,
// `--help`, the shell completions and the man page, and of the help text of
// every flag the commands parse (commands_test.go checks both ways).
//
// Everything here is a plain composite literal of constants, laid out by
// the linker: nothing runs or allocates at start, so the hit path does not
// pay for help it never prints.

import "strings"

const prog = "authos-credential-helper"

// command is one command (or subcommand, such as `dev-server control`).
type command struct {
	name    string
	summary string // one line, lower case, no full stop
	args    string // the synopsis after the command's name
	about   string // paragraphs separated by a blank line
	// identity says which identity flags the command registers
	// (identityFlags): none, all five, or all five with only --profile
	// shown (git and terraform refuse the others).
	identity identityUse
	flags    []flagDef
	verbs    []verb
	wordsAre string // what verbs lists: "verbs" unless set
	subs     []command
	hidden   bool // not listed in usage, completions or the man page
}

type identityUse int

const (
	noIdentity identityUse = iota
	allIdentity
	profileOnly
)

// flagDef is one flag: arg is the value's placeholder ("" for a bool flag),
// def its default as the flag package prints it.
type flagDef struct {
	name, arg, def, help string
	profile              bool // the value is a profile name (completions offer them)
}

type verb struct{ name, summary string }

// identityDefs are the identity flags, in the order identityFlags
// registers them.
var identityDefs = []flagDef{
	{name: "profile", arg: "NAME", help: "profile name from config.toml", profile: true},
	{name: "server", arg: "URL", help: "AuthOS base URL"},
	{name: "org", arg: "SLUG", help: "organization slug"},
	{name: "service", arg: "SLUG", help: "service slug"},
	{name: "client-id", arg: "ID", help: "client id"},
}

const identityAbout = "The identity comes from the first source that gives anything: the identity flags; " +
	"else AUTHOS_PROFILE, AUTHOS_SERVER, AUTHOS_ORG, AUTHOS_SERVICE, AUTHOS_CLIENT_ID; else default_profile in config.toml. " +
	"Within it a named profile is the base and each field given overrides it."

const hostAbout = "Only a profile whose patterns name the requested host answers; --profile (or AUTHOS_PROFILE) " +
	"only narrows the search to that profile. Any other host gets the protocol's \"not mine\" answer, " +
	"without reading the keyring or the network."

var commands = []command{
	{name: "login", summary: "sign in now (device flow) and cache the token", args: "[identity flags]", identity: allIdentity,
		about: "Always runs the device flow, even with a valid token cached, and caches the token. " +
			"Says on stderr who signed in, the keyring backend and until when the token is used.\n\n" + identityAbout},
	{name: "token", summary: "print a valid access token, signing in first if needed", args: "[identity flags]", identity: allIdentity,
		about: "Prints a served token and a newline on stdout, running the device flow first on a miss " +
			"(or failing at once when nobody can answer a prompt: AUTHOS_NONINTERACTIVE, GIT_TERMINAL_PROMPT=0, CI).\n\n" + identityAbout},
	{name: "status", summary: "list cached identities and stored credentials, never tokens", args: "[--json] [--check]",
		about: "Lists every cached identity (profile, server, org/service, client id, user, expiry, served until) " +
			"and the credentials docker and Terraform stored, then the keyring backend. Never prints a token.",
		flags: []flagDef{
			{name: "json", help: "print JSON instead of a table"},
			{name: "check", help: "ask each valid token's server now whether its session is alive; a revoked one is dropped"},
		}},
	{name: "logout", summary: "forget the token, then end its session at the server", args: "[identity flags] [--all] [--unreadable]", identity: allIdentity,
		about: "Deletes the cached entry first and only then, if its token has not expired, ends the session at the server. " +
			"Working offline is not a failure: the token is deleted and a warning says until when it stays valid there.\n\n" + identityAbout,
		flags: []flagDef{
			{name: "all", help: "log out of every cached identity"},
			{name: "unreadable", help: "only remove the cache records that can no longer be read (sealed under a lost data key, or damaged)"},
		}},
	{name: "doctor", summary: "explain why a client gets no token", args: "[--profile NAME] [--json] [--offline]",
		about: "Checks, per profile, each client's configuration (git, docker, kubectl, Terraform/OpenTofu) and anything ahead of the helper, " +
			"the binaries on PATH, the cache, whether a prompt can reach you, the server (reachable, TLS, proxy, clock skew) and the token. " +
			"One line per check, with the fix under every failed one; exit status 1 when something is broken. Never prints a token.",
		flags: []flagDef{
			{name: "profile", arg: "NAME", help: "check only this profile"},
			{name: "json", help: "print JSON"},
			{name: "offline", help: "skip the server checks"},
		}},
	{name: "git", summary: "git credential helper (also as git-credential-authos)", args: "[--profile NAME] get|store|erase", identity: profileOnly,
		about: "Speaks git's credential helper protocol on stdin and stdout: configure it with " +
			"`" + prog + " setup git`. Unknown verbs are ignored, as git requires.\n\n" + hostAbout,
		verbs: []verb{
			{"get", "answer with a token for the URL git asks about"},
			{"store", "nothing to do: the cache already has it"},
			{"erase", "forget the token git was refused with"},
		}},
	{name: "docker", summary: "docker credential helper (also as docker-credential-authos)", args: "get|store|erase|list|version",
		about: "Speaks docker's credential helper protocol: exactly one verb, the request on stdin; no flags. " +
			"Only a profile whose docker patterns name the registry answers (AUTHOS_PROFILE narrows the search). " +
			"A registry no profile serves can be stored into and read back (docker login); any other request gets \"credentials not found\", " +
			"without reading the keyring or the network.",
		verbs: []verb{
			{"get", "answer with a token for a registry"},
			{"store", "keep a credential docker login hands over"},
			{"erase", "forget a registry's credential"},
			{"list", "list the registries with a credential"},
			{"version", "print the helper's version"},
		}},
	{name: "kube", summary: "kubectl exec credential plugin (ExecCredential v1, v1beta1)", args: "[identity flags]", identity: allIdentity,
		about: "Answers client-go's exec credential plugin protocol: put it in a kubeconfig user's exec stanza " +
			"(`" + prog + " setup kube`). KUBERNETES_EXEC_INFO chooses the apiVersion.\n\n" + identityAbout},
	{name: "terraform", summary: "Terraform/OpenTofu credentials helper", args: "[--profile NAME] get|store|forget HOST", identity: profileOnly,
		about: "Speaks the Terraform/OpenTofu credentials helper protocol (also as terraform-credentials-authos). The sign-in prompt goes to the terminal, " +
			"because Terraform hides the helper's stderr.\n\n" + hostAbout,
		verbs: []verb{
			{"get", "answer with a token for HOST"},
			{"store", "keep a credential terraform login hands over"},
			{"forget", "forget HOST's stored credential"},
		}},
	{name: "setup", summary: "configure git, docker, kube, terraform or tofu for a profile", args: "git|docker|kube|terraform|tofu [flags]",
		about: "Writes (or, with --undo, removes) one client's configuration for one profile: idempotent, " +
			"with backups, each change said on stderr. The client may come before or after the flags.",
		wordsAre: "clients",
		verbs: []verb{
			{"git", "credential.<url>.helper for the profile's git URLs"},
			{"docker", "credHelpers entries for the profile's registries"},
			{"kube", "a kubeconfig user that runs the kube command"},
			{"terraform", "the credentials helper in Terraform's CLI configuration"},
			{"tofu", "the credentials helper in OpenTofu's CLI configuration"},
		},
		flags: []flagDef{
			{name: "profile", arg: "NAME", help: "profile name from config.toml (default: default_profile)", profile: true},
			{name: "undo", help: "remove what setup added"},
			{name: "dry-run", help: "print the changes without making them"},
			{name: "force", help: "replace another helper's entry (docker credHelpers, git helper, Terraform plugin file)"},
			{name: "creds-store", help: "docker: also make authos the credsStore for every registry"},
			{name: "context", arg: "NAME", help: "kube: also point this existing context at the authos user"},
		}},
	{name: "dev-server", summary: "run the local AuthOS-compatible development server", args: "[flags] | control ...",
		about: "Runs an in-memory server that speaks AuthOS's device-flow wire format, with seeded organisations, " +
			"services and users (printed on stderr at start). Prints its URL on stdout once listening.",
		flags: []flagDef{
			{name: "listen", arg: "ADDR", def: "127.0.0.1:8080", help: "address to listen on (host:port; port 0 picks a free one)"},
			{name: "no-rate-limit", help: "disable the device-route rate limiter"},
			{name: "legacy-mfa", help: `emulate the intermediate server's "MFA verification required" answer`},
			{name: "legacy-platform-prefix", help: "accept any platform-* client_id for the platform flow (older server)"},
			{name: "interval", arg: "SECONDS", def: "5", help: "poll interval sent with device codes, seconds"},
			{name: "expires-in", arg: "SECONDS", def: "900", help: "device code lifetime, seconds"},
			{name: "token-lifetime", arg: "DURATION", def: "24h0m0s", help: "access token lifetime"},
			{name: "rate-limit-period", arg: "DURATION", def: "5s", help: "rate limiter refill period (older server: 60s)"},
			{name: "cleanup-interval", arg: "DURATION", def: "5m0s", help: "how often expired device codes are swept"},
			{name: "dashboard-url", arg: "URL", help: "PLATFORM_DASHBOARD_BASE_URL (default: the server's own URL)"},
			{name: "auto-approve", arg: "EMAIL", help: "demo mode: approve every new device code as this seeded user's email after 2 s"},
			{name: "resource-uri", arg: "ORG/SERVICE=URI", help: "add a resource URI to a service's resource_uris (repeatable)"},
			{name: "jwks-max-age", arg: "DURATION", def: "5m0s", help: "Cache-Control max-age of the JWKS"},
			{name: "no-metadata", help: "serve no /.well-known/authos-configuration (servers before AuthOS v0.8)"},
			{name: "device-authorization-status", arg: "STATUS", def: "beta", help: `oauth_device_authorization.status in the metadata document; "absent" leaves the section out`},
		},
		subs: []command{
			{name: "control", summary: "approve, deny or expire a device code, or rotate the signing key, on a running dev server",
				args:  "approve|mfa-complete|deny|expire USER_CODE [--user EMAIL] [--server URL] | rotate-key|drop-previous-keys [--server URL]",
				about: "Posts to a running dev server's control API and prints the code's new state (or the key ring) on stderr.",
				verbs: []verb{
					{"approve", "approve USER_CODE as --user"},
					{"mfa-complete", "finish the MFA step of an approved code"},
					{"deny", "deny USER_CODE"},
					{"expire", "expire USER_CODE now"},
					{"rotate-key", "start signing with a new key (the old one stays in the JWKS)"},
					{"drop-previous-keys", "remove the previous keys from the JWKS"},
				},
				flags: []flagDef{
					{name: "user", arg: "EMAIL", def: "alice@acme.example", help: "email of the user who approves"},
					{name: "server", arg: "URL", def: "http://127.0.0.1:8080", help: "dev server base URL; $AUTHOS_SERVER when set"},
				}},
		}},
	{name: "activation-server", summary: "serve the /activate pages for an AuthOS server", args: "--server URL [--listen ADDR]",
		about: "Serves only the activation pages (code entry, provider choice, MFA step, success) for a real AuthOS. " +
			"It speaks plain HTTP: put it behind the TLS front end that serves the service's device_activation_uri.",
		flags: []flagDef{
			{name: "server", arg: "URL", help: "AuthOS base URL the pages talk to (https, or http on loopback)"},
			{name: "listen", arg: "ADDR", def: "127.0.0.1:8081", help: "address to serve the pages on"},
		}},
	{name: "version", summary: "print the version and the compiled-in keyring backends", args: "[--json]",
		about: "Prints the version, the commit and the keyring backends this build has. " +
			"--json adds the Go version and the platform, and says whether this build has the macOS Keychain.",
		flags: []flagDef{{name: "json", help: "print JSON"}}},
	{name: "help", summary: "show the usage, or a command's help", args: "[COMMAND [SUBCOMMAND]]",
		about: "Prints the same text as COMMAND --help, on stdout."},
	{name: "completion", summary: "print a shell completion script (bash, zsh or fish)", args: "bash|zsh|fish",
		about: "Prints a completion script for the shell on stdout. " +
			"bash: source <(" + prog + " completion bash), or save it in /usr/share/bash-completion/completions/" + prog + ". " +
			"zsh: save it as _" + prog + " in a folder on $fpath. " +
			"fish: save it in ~/.config/fish/completions/" + prog + ".fish.",
		wordsAre: "shells",
		verbs:    []verb{{"bash", "bash 4 or later"}, {"zsh", "zsh 5"}, {"fish", "fish 3"}}},
	{name: "man", hidden: true, summary: "print the man page (roff)", args: "",
		about: "Prints the man page, generated from these definitions, on stdout: " + prog + " man > " + prog + ".1"},
	{name: "__complete", hidden: true, summary: "print completion candidates", args: "profiles",
		about: "Used by the completion scripts: prints the profile names in config.toml, one a line."},
}

// envDef and fileDef are the man page's ENVIRONMENT and FILES.
type envDef struct{ name, help string }

var environment = []envDef{
	{"AUTHOS_PROFILE, AUTHOS_SERVER, AUTHOS_ORG, AUTHOS_SERVICE, AUTHOS_CLIENT_ID", "the identity when no identity flag is given; for git, docker and terraform only AUTHOS_PROFILE counts, as a filter"},
	{"AUTHOS_CACHE_BACKEND", "overrides [cache] backend"},
	{"AUTHOS_CACHE_PASSPHRASE", "passphrase of the file backend (otherwise asked on the terminal)"},
	{"AUTHOS_NONINTERACTIVE", "1 or true: a cache miss fails at once instead of prompting (also GIT_TERMINAL_PROMPT=0, and CI=true without a terminal)"},
	{"AUTHOS_NO_QR, AUTHOS_NO_BROWSER", "1 or true: no QR code, no offer to open the browser"},
	{"KUBERNETES_EXEC_INFO", "kube: the apiVersion to answer in"},
	{"HTTPS_PROXY, HTTP_PROXY, NO_PROXY", "proxies for calls to AuthOS"},
	{"XDG_CONFIG_HOME, XDG_CACHE_HOME, XDG_STATE_HOME, XDG_DATA_HOME, XDG_RUNTIME_DIR", "where every file lives (FILES)"},
	{"HOME, GIT_CONFIG_GLOBAL, DOCKER_CONFIG, KUBECONFIG, TF_CLI_CONFIG_FILE, APPDATA", "setup: which client files to edit"},
}

var files = []envDef{
	{"$XDG_CONFIG_HOME/authos-credential-helper/config.toml", "profiles, cache and prompt settings"},
	{"$XDG_CACHE_HOME/authos-credential-helper/tokens/", "sealed token entries and stored credentials"},
	{"$XDG_STATE_HOME/authos-credential-helper/", "the remembered keyring backend, what setup changed"},
	{"$XDG_RUNTIME_DIR/authos-credential-helper/locks/", "per-identity login locks (else locks/ in the state folder)"},
	{"$XDG_DATA_HOME/authos-credential-helper/keyring/", "the file backend's items"},
}

var exitStatus = []envDef{
	{"0", "success, including every \"not mine\" answer of git and terraform"},
	{"1", "failure: one line on stderr (docker: the protocol's text on stdout)"},
	{"2", "usage error: unknown command, bad flags or arguments, an incomplete identity"},
}

// lookup finds the command at path ("status", "dev-server control").
func lookup(path ...string) *command {
	list := commands
	var c *command
	for _, name := range path {
		c = nil
		for i := range list {
			if list[i].name == name {
				c = &list[i]
				break
			}
		}
		if c == nil {
			return nil
		}
		list = c.subs
	}
	return c
}

// flagHelp is the help text of the flag called name of the command at
// path ("setup", "dev-server control"); commands register their flags
// with it.
func flagHelp(path, name string) string {
	first, sub, _ := strings.Cut(path, " ")
	c := lookup(first)
	if sub != "" {
		c = lookup(first, sub)
	}
	if c == nil {
		return "" // commands_test.go fails on a flag without a definition
	}
	for _, f := range c.flags {
		if f.name == name {
			return f.help
		}
	}
	return ""
}

// allFlags is every flag the command parses: its identity flags, then its own.
func (c *command) allFlags() []flagDef {
	if c.identity == noIdentity {
		return c.flags
	}
	return append(append([]flagDef(nil), identityDefs...), c.flags...)
}

// shownFlags is the flags help, completions and the man page show.
func (c *command) shownFlags() []flagDef {
	switch c.identity {
	case noIdentity:
		return c.flags
	case profileOnly:
		return append([]flagDef{identityDefs[0]}, c.flags...)
	}
	return c.allFlags()
}
