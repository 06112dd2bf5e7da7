package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/authos/authos-credential-helper/internal/devserver"
)

// The activation pages in a real headless Chromium (Debian's chromium,
// installed by test.sh), while `authos-credential-helper token` polls.

// artifactsDir is where each page's screenshot goes: AUTHOS_TEST_ARTIFACTS,
// or test-artifacts/ at the top of the checkout.
func artifactsDir(t *testing.T) string {
	dir := os.Getenv("AUTHOS_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "test-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// chromium starts a headless Chromium with a fresh profile, its temporary
// files (org.chromium.Chromium.*) in the test's own folder.
func chromium(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is missing: test.sh installs it (Debian package chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.Env("TMPDIR="+t.TempDir()),
		chromedp.WindowSize(412, 915), // a phone
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// shot saves a screenshot of the page as test-artifacts/<test>-<name>.png.
func shot(t *testing.T, name string) step {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		png, err := chromedp.FullScreenshot(100)(ctx, tg) // 100: PNG; lower qualities make JPEG
		if err != nil {
			return err
		}
		file := strings.ReplaceAll(t.Name(), "/", "-") + "-" + name + ".png"
		return os.WriteFile(filepath.Join(artifactsDir(t), file), png, 0o644)
	})
}

// run runs browser actions, failing the test with the page's text on error.
// step is one browser action.
type step = chromedp.Action[chromedp.Void]

func run(t *testing.T, ctx context.Context, steps ...step) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("browser: %v\npage text: %s", err, body)
	}
}

// enterCode opens the activation page and submits code as a person types it.
func enterCode(t *testing.T, ctx context.Context, server, code string) {
	t.Helper()
	typed := strings.ToLower(strings.Replace(code, "-", " ", 1))
	run(t, ctx,
		chromedp.Navigate(server+"/activate"),
		chromedp.WaitVisible(chromedp.ID("user_code")),
		shot(t, "1-enter-code"),
		chromedp.SendKeys(chromedp.ID("user_code"), typed),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
	)
}

// chooseProviderAndUser clicks the provider's button, then the seeded user
// on the dev server's stand-in sign-in page.
func chooseProviderAndUser(t *testing.T, ctx context.Context, provider, email string) {
	t.Helper()
	run(t, ctx,
		chromedp.WaitVisible(chromedp.CSS(".providers")),
		shot(t, "2-providers"),
		chromedp.Click(chromedp.Search(`//a[normalize-space()="Continue with `+provider+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[value="`+email+`"]`)),
		shot(t, "3-provider-sign-in"),
		chromedp.Click(chromedp.CSS(`button[value="`+email+`"]`)),
	)
}

func waitText(selector, text string) step {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for {
			// An error here is usually the page changing under the query
			// (the form's navigation): look again until the deadline.
			got, err := chromedp.Text(chromedp.CSS(selector), chromedp.NodeVisible)(ctx, tg)
			if err == nil && strings.Contains(got, text) {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for %q in %s (last: %q, %v): %w", text, selector, got, err, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// tokenFor expects the polling `token` process to print alice's or bob's token.
func tokenFor(t *testing.T, d *devServer, p *proc, email string) {
	t.Helper()
	if code := p.wait(t); code != 0 {
		t.Fatalf("token exited %d: %s", code, p.stderr.String())
	}
	claims, err := checkToken(d.URL, strings.TrimSpace(p.stdout.String()))
	if err != nil || claims.Email != email {
		t.Fatalf("token printed after the browser sign-in: %+v, %v", claims, err)
	}
}

func TestBrowserSignIn(t *testing.T) {
	d := startDevServer(t)
	s := newSandbox(t, d.URL)
	p := s.start(t, "token")
	c := d.waitPendingCode(t, 1)
	ctx := chromium(t)
	enterCode(t, ctx, d.URL, c.UserCode)
	chooseProviderAndUser(t, ctx, "GitHub", devserver.UserAlice)
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(".success")), shot(t, "4-success"))
	tokenFor(t, d, p, devserver.UserAlice)
}

func TestBrowserSignInWithMFA(t *testing.T) {
	d := startDevServer(t)
	s := newSandbox(t, d.URL)
	p := s.start(t, "token")
	c := d.waitPendingCode(t, 1)
	ctx := chromium(t)
	enterCode(t, ctx, d.URL, c.UserCode)
	chooseProviderAndUser(t, ctx, "Google", devserver.UserBob)
	run(t, ctx,
		chromedp.WaitVisible(chromedp.ID("code")), shot(t, "4-mfa"),
		chromedp.SendKeys(chromedp.ID("code"), "000000"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		waitText(".problem", "That code did not work"), shot(t, "5-mfa-wrong-code"),
	)
	totp, err := devserver.TOTP(devserver.BobTOTPSecret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	run(t, ctx,
		chromedp.SendKeys(chromedp.ID("code"), totp),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".success")), shot(t, "6-success"),
	)
	tokenFor(t, d, p, devserver.UserBob)
}

func TestBrowserPlatformAdminSignIn(t *testing.T) {
	d := startDevServer(t)
	platform := func() *sandbox {
		s := newSandbox(t, d.URL)
		s.env["AUTHOS_ORG"], s.env["AUTHOS_SERVICE"], s.env["AUTHOS_CLIENT_ID"] = devserver.PlatformOrg, devserver.PlatformService, devserver.PlatformClientID
		return s
	}
	ctx := chromium(t)

	owner := platform().start(t, "token")
	c := d.waitPendingCode(t, 1)
	enterCode(t, ctx, d.URL, c.UserCode)
	run(t, ctx, waitText("main", "platform administration CLI"))
	chooseProviderAndUser(t, ctx, "Microsoft", devserver.UserOwner)
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(".success")), shot(t, "4-owner-success"))
	tokenFor(t, d, owner, devserver.UserOwner)

	other := platform().start(t, "token")
	c = d.waitPendingCode(t, 2)
	enterCode(t, ctx, d.URL, c.UserCode)
	chooseProviderAndUser(t, ctx, "GitHub", devserver.UserAlice)
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(".success")))
	if code := other.wait(t); code == 0 || !strings.Contains(other.stderr.String(), "platform owner") {
		t.Fatalf("a non-owner got a platform token: exit %d, %s", code, other.stderr.String())
	}
}

func TestBrowserInvalidAndExpiredCodes(t *testing.T) {
	d := startDevServer(t)
	ctx := chromium(t)
	enterCode(t, ctx, d.URL, "ZZZZ-ZZZZ")
	run(t, ctx, waitText(".problem", "unknown, has expired, or was already used"), shot(t, "2-invalid-code"))

	s := newSandbox(t, d.URL)
	p := s.start(t, "token")
	c := d.waitPendingCode(t, 1)
	d.control(t, "expire", c.UserCode, "")
	enterCode(t, ctx, d.URL, c.UserCode)
	run(t, ctx, waitText(".problem", "unknown, has expired, or was already used"), shot(t, "2-expired-code"))
	if code := p.wait(t); code == 0 || !strings.Contains(p.stderr.String(), "expired") {
		t.Fatalf("token after its code expired: exit %d, %s", code, p.stderr.String())
	}
}
