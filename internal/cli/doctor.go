package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/helper/online"
	"github.com/authos/authos-credential-helper/internal/doctor"
	"github.com/authos/authos-credential-helper/internal/setup"
	"github.com/authos/authos-credential-helper/internal/version"
)

// runDoctor checks everything between the clients and a token
// (`doctor [--profile P] [--json] [--offline]`); exit status 1 when
// something is broken. All the rules are in package doctor.
func runDoctor(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "doctor")
	profile := fs.String("profile", "", flagHelp("doctor", "profile"))
	asJSON := fs.Bool("json", false, flagHelp("doctor", "json"))
	offline := fs.Bool("offline", false, flagHelp("doctor", "offline"))
	if err := parse(fs, args); err != nil {
		return err
	}
	a, err := newApp(env)
	if err != nil {
		return err
	}
	if *profile != "" {
		if _, ok := a.cfg.Profiles[*profile]; !ok {
			return usageError{fmt.Sprintf("doctor: no profile %q in config.toml (have: %s)", *profile, strings.Join(a.cfg.ProfileNames(), ", "))}
		}
	}
	home := env.Getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	de := doctor.Env{
		Getenv: env.Getenv, Environ: os.Environ(), Home: home, GOOS: runtime.GOOS, GOARCH: runtime.GOARCH,
		LookPath: func(name string) (string, error) { return setup.LookPathIn(env.Getenv("PATH"), name) },
	}
	if exe, err := executable(); err == nil && frontDoorOf(exe) != exe {
		de.FrontDoor = frontDoorOf(exe) // the full helper, started through it
	}
	if _, err := exec.LookPath("git"); err == nil {
		de.Git = runGitConfig
	}
	d := doctor.Doctor{Config: a.cfg, Profile: *profile, Sources: doctor.Sources{
		Env:    de,
		Cache:  doctorCache{a},
		Tokens: doctorTokens{a: a, state: env.Paths.State, online: !*offline},
		TTY:    doctor.Terminal{StderrTTY: isTerminal(env.Stderr), TTYOpens: hasTTY(env)},
	}}
	if !*offline {
		d.Server = doctor.Prober{UserAgent: version.UserAgent(), Getenv: env.Getenv}
	}
	rep := d.Run(ctx)
	if *asJSON {
		if err := doctor.WriteJSON(env.Stdout, rep); err != nil {
			return err
		}
	} else {
		doctor.WriteText(env.Stdout, rep)
	}
	if n := rep.Broken(); n > 0 {
		return fmt.Errorf("doctor: %d problem(s) found; the fix for each is under its ✗ line", n)
	}
	return nil
}

// runGitConfig runs git as the clients would here (this folder's
// repository config included); exit status 1 is "no such key".
func runGitConfig(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("git %s: %v %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

// doctorCache reports the cache through the app's keyring and store.
type doctorCache struct{ a *app }

func (c doctorCache) Cache() doctor.CacheInfo {
	info := doctor.CacheInfo{
		KernelCacheTTL: c.a.cfg.Cache.KernelCacheTTL(),
		Linux:          runtime.GOOS == "linux",
		DBus:           c.a.env.Getenv("DBUS_SESSION_BUS_ADDRESS"),
	}
	if info.Linux {
		has := c.a.keys.HasKernelCopy() // before Status, which would make one
		info.KernelCopy = &has
	}
	info.Backend, info.BackendErr = c.a.keys.Backend()
	if info.BackendErr != nil {
		return info
	}
	st, err := c.a.h.Status(c.a.cfg, c.a.store)
	if err != nil {
		info.StatusErr = err
		return info
	}
	for _, e := range st.Identities {
		if e.Unreadable != nil {
			info.Unreadable = append(info.Unreadable, fmt.Sprintf("%s (token entry%s): %s", e.Name, profileNote(e.Profile), cache.Reason(e.Unreadable)))
		}
	}
	for _, r := range st.Stored {
		if r.Unreadable != nil {
			info.Unreadable = append(info.Unreadable, fmt.Sprintf("%s (%s credential): %s", r.Name, r.Kind, cache.Reason(r.Unreadable)))
		}
	}
	return info
}

func profileNote(p string) string {
	if p == "" {
		return ""
	}
	return " of profile " + p
}

// doctorTokens reports each profile's cached token: its state, whether the
// server still accepts it (online, as `status --check` asks), and the last
// sign-in that was needed with nobody to prompt.
type doctorTokens struct {
	a      *app
	state  string
	online bool
}

func (t doctorTokens) Token(ctx context.Context, profile string) doctor.TokenInfo {
	if _, err := t.a.keys.Backend(); err != nil {
		return doctor.TokenInfo{Err: errors.New("no usable keyring (see the cache section)")}
	}
	id := helper.FromProfile(profile, t.a.cfg.Profiles[profile])
	st, found, err := t.a.h.EntryStatus(id.Key())
	if err != nil {
		return doctor.TokenInfo{Err: err}
	}
	info := doctor.TokenInfo{LastMiss: t.lastMiss(id.Key())}
	if e, ok, err := helper.LookupEnvToken(id, t.a.env.Getenv); ok {
		info.Env = &doctor.EnvToken{Variable: e.Variable, ExpiresAt: e.ExpiresAt, Err: err}
	}
	if !found {
		return info
	}
	info.Entry = &st
	if t.online && st.Unreadable == nil && t.a.verifier != nil {
		vs := st
		vs.Identity = id // with the profile's resource: what the token must be for
		rep := helper.StatusReport{Identities: []helper.EntryStatus{vs}}
		ck := online.VerifyStatus(ctx, t.a.h, &rep, t.a.verifier)[0]
		if v := ck.Verification; v != nil {
			info.Verified, info.VerifiedOK = v.Describe(), v.Result.OK()
			if ck.Evicted {
				info.Verified += "; deleted, the next use signs in again"
				st.Valid = false
			}
		}
	}
	if t.online && st.Valid {
		id.CABundle = t.a.caBundleOf(st.Name)
		switch s, _ := t.a.h.CheckNow(ctx, id); s {
		case helper.SessionAlive, helper.SessionRevoked:
			revoked := s == helper.SessionRevoked
			info.Revoked = &revoked
		}
	}
	return info
}

// lastMiss is the newest recorded miss of the entry that no later sign-in
// answered.
func (t doctorTokens) lastMiss(entry string) *doctor.Miss {
	misses, err := cache.Misses(t.state).List()
	if err != nil {
		return nil
	}
	var last *doctor.Miss
	for _, m := range t.a.h.SignInNeeded(misses) {
		if m.Entry == entry && (last == nil || m.At.After(last.At)) {
			last = &doctor.Miss{Client: m.Client, Host: m.Host, At: m.At}
		}
	}
	return last
}
