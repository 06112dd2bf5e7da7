package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

// The server's strings reach the person's terminal only without control
// sequences (issue 9, items 2 and 3): the dev server is made to answer
// with clipboard writes (OSC 52), clear screen, window titles and bidi
// overrides in the verification URI, the user code and error messages.

const (
	osc52    = "\x1b]52;c;ZWNobyBwd25lZCA+PiB+Ly5iYXNocmM=\x07"
	clear    = "\x1b[2J\x1b[H"
	setTitle = "\x1b]0;title\x07"
	rlo      = "\u202e"
)

// assertTerminalSafe fails if s holds a byte or rune a terminal would act
// on: C0 controls but the newline, DEL, C1 (U+0080–U+009F), the bidi
// controls, invalid UTF-8.
func assertTerminalSafe(t *testing.T, what, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%s: invalid UTF-8 reached stderr: %q", what, s)
	}
	for _, r := range s {
		bidi := r == 0x061c || r == 0x200e || r == 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
		if r < 0x20 && r != '\n' || r == 0x7f || r >= 0x80 && r <= 0x9f || bidi {
			t.Errorf("%s: %U reached stderr:\n%q", what, r, s)
			return
		}
	}
}

// realDeviceCode asks the dev server for a device code as the helper does,
// so that a faulted answer to the helper can carry a code that works.
func realDeviceCode(t *testing.T, d *devServer) (deviceCode, userCode string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"client_id": "acme-cli", "org": "acme", "service": "cli"})
	resp, err := http.Post(d.URL+"/auth/device/code", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var dc struct {
		DeviceCode string `json:"device_code"`
		UserCode   string `json:"user_code"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&dc); err != nil || dc.DeviceCode == "" {
		t.Fatalf("device code: %v %+v", err, dc)
	}
	return dc.DeviceCode, dc.UserCode
}

// deviceCodeFault answers the helper's next /auth/device/code with
// deviceCode and the given user code and verification URI.
func deviceCodeFault(t *testing.T, d *devServer, deviceCode, userCode, uri string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"device_code": deviceCode, "user_code": userCode,
		"verification_uri": uri, "expires_in": 900, "interval": 1})
	d.fault(t, fault{Route: "/auth/device/code", Status: 200, Body: string(body), ContentType: "application/json", Count: 1})
}

func TestTerminalHostilePromptFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// uri and code get the dev server's URL and the real user code
		// through strings.NewReplacer("BASE", …, "CODE", …).
		uri, code string
		shown     []string // on stderr, escaped
		warning   string
	}{
		{"OSC 52 in the URI", "BASE/activate" + osc52, "CODE",
			[]string{`/activate\x1b]52;c;ZWNobyBwd25lZCA+PiB+Ly5iYXNocmM=\x07`}, "shown as text and will not be opened"},
		{"clear screen and title in the URI", "BASE/activate" + clear + setTitle, "CODE",
			[]string{`/activate\x1b[2J\x1b[H\x1b]0;title\x07`}, "shown as text and will not be opened"},
		{"bidi override in the URI", "BASE/" + rlo + "etavitca", "CODE",
			[]string{`/\u202eetavitca`}, "shown as text and will not be opened"},
		{"file URI", "file:///etc/passwd", "CODE",
			[]string{"file:///etc/passwd"}, "it is a file: address, not https"},
		{"user info passing for the host", "https://sso.acme.example@evil.example/activate", "CODE",
			[]string{"https://sso.acme.example@evil.example/activate"}, "user info before the host"},
		{"unusual but printable code", "BASE/activate", "code-CODE",
			[]string{"code-"}, "not in AuthOS's usual XXXX-XXXX form"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := startDevServer(t)
			s := newSandbox(t, d.URL)
			dc, uc := realDeviceCode(t, d)
			r := strings.NewReplacer("BASE", d.URL, "CODE", uc)
			deviceCodeFault(t, d, dc, r.Replace(tt.code), r.Replace(tt.uri))
			p := s.start(t, "token")
			waitFor(t, "the prompt", 20*time.Second, func() bool { return strings.Contains(p.stderr.String(), "2. enter") })
			d.control(t, "approve", uc, "alice@acme.example")
			if code := p.wait(t); code != 0 {
				t.Fatalf("token exited %d: %s", code, p.stderr.String())
			}
			errOut := p.stderr.String()
			assertTerminalSafe(t, tt.name, errOut)
			for _, want := range append(tt.shown, "authos: warning: "+"", tt.warning) {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
			if p.stdout.String() == "" {
				t.Error("no token on stdout")
			}
		})
	}
}

// A user code nobody could type stops the sign-in at once: nothing is shown
// as a code to enter, nothing is polled.
func TestTerminalUntypeableUserCodeRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, code, shown string }{
		{"OSC 52", "ABCD-" + osc52, `ABCD-\x1b]52;c;`},
		{"clear screen", clear + "ABCD-EFGH", `\x1b[2J\x1b[HABCD-EFGH`},
		{"bidi override", "HGFE-" + rlo + "DCBA", `HGFE-\u202eDCBA`},
		{"too long", strings.Repeat("ABCD-", 10), "more than 32"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := startDevServer(t)
			s := newSandbox(t, d.URL)
			deviceCodeFault(t, d, "00000000-0000-4000-8000-000000000000", tt.code, d.URL+"/activate")
			_, errOut, code := s.run(t, "token")
			if code != 1 {
				t.Fatalf("token exited %d: %s", code, errOut)
			}
			assertTerminalSafe(t, tt.name, errOut)
			for _, want := range []string{"user code that cannot be shown and typed safely", tt.shown} {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
			if strings.Contains(errOut, "2. enter") {
				t.Errorf("the code was shown as one to enter:\n%s", errOut)
			}
			if n := d.codes(t).TokenRequests; n != 0 {
				t.Errorf("%d polls after the refusal", n)
			}
		})
	}
}

// Error messages from the server reach stderr without control sequences:
// the final error line (cli's report) and the retry line while polling
// (the prompt's event line).
func TestTerminalServerErrorMessages(t *testing.T) {
	t.Parallel()
	hostile := "service" + osc52 + " suspended" + clear + " by" + setTitle + " admin" + rlo + "\u009b2J"
	envelope := func(status string) string {
		b, _ := json.Marshal(map[string]string{"error": hostile, "error_code": status, "timestamp": "2026-11-26T00:00:00Z"})
		return string(b)
	}
	t.Run("device code request refused", func(t *testing.T) {
		t.Parallel()
		d := startDevServer(t)
		s := newSandbox(t, d.URL)
		d.fault(t, fault{Route: "/auth/device/code", Status: 400, Body: envelope("BAD_REQUEST"), ContentType: "application/json", Count: 1})
		_, errOut, code := s.run(t, "token")
		if code != 1 {
			t.Fatalf("token exited %d: %s", code, errOut)
		}
		assertTerminalSafe(t, "the error line", errOut)
		if !strings.Contains(errOut, "service suspended by admin") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("want one line with the server's words:\n%s", errOut)
		}
	})
	t.Run("poll fails, retried, then refused", func(t *testing.T) {
		t.Parallel()
		d := startDevServer(t)
		s := newSandbox(t, d.URL)
		p := s.start(t, "token")
		d.waitPendingCode(t, 1)
		d.fault(t, fault{Route: "/auth/token", Status: 503, Body: envelope("SERVICE_UNAVAILABLE"), ContentType: "application/json", Count: 1})
		d.fault(t, fault{Route: "/auth/token", Status: 403, Body: envelope("FORBIDDEN"), ContentType: "application/json", Count: 1})
		if code := p.wait(t); code != 1 {
			t.Fatalf("token exited %d: %s", code, p.stderr.String())
		}
		errOut := p.stderr.String()
		assertTerminalSafe(t, "the prompt and the error line", errOut)
		for _, want := range []string{"server trouble (", "service suspended by admin", "the server refused the sign-in"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("stderr lacks %q:\n%s", want, errOut)
			}
		}
	})
}

// onPTY runs the helper with a new pseudo-terminal as its controlling
// terminal, stdin and stderr (the foreground of its own session), stdout
// kept apart, and a fake xdg-open that records its arguments in opened.
// Typing writes to the terminal; screen is everything the terminal showed.
type ptyProc struct {
	*proc
	master *os.File
	screen syncBuffer
	opened string
}

func (s *sandbox) onPTY(t *testing.T, args ...string) *ptyProc {
	t.Helper()
	master, slave := openPTY(t, 0)
	bindir := t.TempDir()
	p := &ptyProc{proc: &proc{cmd: exec.Command(bin, args...), done: make(chan struct{})}, master: master,
		opened: filepath.Join(bindir, "opened")}
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + p.opened + ".tmp && mv " + p.opened + ".tmp " + p.opened + "\n"
	if err := os.WriteFile(filepath.Join(bindir, "xdg-open"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	p.cmd.Env = append(s.environ(), "DISPLAY=:0", "PATH="+bindir+string(os.PathListSeparator)+s.env["PATH"])
	p.cmd.Stdin, p.cmd.Stderr, p.cmd.Stdout = slave, slave, &p.stdout
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	go io.Copy(&p.screen, master) // ends with EIO once the helper is gone
	go func() {
		err := p.cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
		}
		close(p.done)
	}()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	return p
}

// The offer to open the browser (and the QR code) is made only for a link
// that may be opened, and Enter then hands exactly that link to xdg-open;
// for anything else the terminal shows the address escaped with a warning,
// and Enter opens nothing.
func TestTerminalBrowserOpensOnlyAcceptableLinks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, uri string // BASE is the dev server's URL
		open      bool
	}{
		{"the dev server's loopback page", "BASE/activate", true},
		{"file", "file:///etc/passwd", false},
		{"javascript", "javascript:alert(document.cookie)", false},
		{"plain http elsewhere", "http://sso.acme.example/activate", false},
		{"an OSC 52 in an https link", "https://sso.acme.example/activate" + osc52, false},
		{"an option", "--help", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := startDevServer(t)
			s := newSandbox(t, d.URL)
			dc, uc := realDeviceCode(t, d)
			uri := strings.ReplaceAll(tt.uri, "BASE", d.URL)
			deviceCodeFault(t, d, dc, uc, uri)
			p := s.onPTY(t, "token")
			waitFor(t, "the prompt", 20*time.Second, func() bool { return strings.Contains(p.screen.String(), "The code expires") })
			waitFor(t, "the end of the prompt", 5*time.Second, func() bool { return strings.Contains(p.screen.String(), "left") })
			if _, err := p.master.Write([]byte("\r")); err != nil {
				t.Fatal(err)
			}
			if tt.open {
				waitFor(t, "xdg-open", 10*time.Second, func() bool { _, err := os.Stat(p.opened); return err == nil })
			}
			d.control(t, "approve", uc, "alice@acme.example")
			if code := p.wait(t); code != 0 {
				t.Fatalf("token exited %d: %q", code, p.screen.String())
			}
			screen := p.screen.String()
			offered := strings.Contains(screen, "Press Enter to open it in your browser")
			qr := strings.Contains(screen, "scan this with a phone")
			if offered != tt.open || qr != tt.open || strings.Contains(screen, "will not be opened") == tt.open {
				t.Errorf("offer %v, QR code %v, want %v:\n%s", offered, qr, tt.open, screen)
			}
			got, err := os.ReadFile(p.opened)
			if tt.open && string(got) != uri+"\n" || !tt.open && err == nil {
				t.Errorf("xdg-open got %q (%v)", got, err)
			}
			// The prompt's own line clearing and the QR code's colours are
			// the only sequences; the pty turns "\n" into "\r\n".
			own := strings.NewReplacer("\r\x1b[K", "", "\x1b[30;47m", "", "\x1b[0m", "", "\r", "")
			assertTerminalSafe(t, "the terminal", own.Replace(screen))
		})
	}
}
