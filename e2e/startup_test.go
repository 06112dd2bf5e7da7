package e2e

import (
	"debug/buildinfo"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoProcessStartedAtStartup puts a fake dbus-launch on PATH, with no
// session bus, and checks that no command of the binary ever runs it.
func TestNoProcessStartedAtStartup(t *testing.T) {
	t.Parallel()
	fakeBin := t.TempDir()
	marker := filepath.Join(t.TempDir(), "dbus-launch-ran")
	script := "#!/bin/sh\necho \"$0 $*\" >> " + marker + "\nexit 1\n"
	if err := os.WriteFile(filepath.Join(fakeBin, "dbus-launch"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	path := fakeBin + ":" + os.Getenv("PATH")

	// Control: keyring linked without the guard does run dbus-launch here,
	// so this test would notice the guard failing.
	raw := filepath.Join(t.TempDir(), "rawkeyring")
	if out, err := exec.Command("go", "build", "-o", raw, "./testdata/rawkeyring").CombinedOutput(); err != nil {
		t.Fatalf("building the control program: %v\n%s", err, out)
	}
	ctl := exec.Command(raw)
	ctl.Env = []string{"PATH=" + path, "HOME=" + t.TempDir(), "XDG_RUNTIME_DIR=" + t.TempDir()}
	ctl.Run()
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("control program did not run the fake dbus-launch: the test setup cannot see the trap")
	}
	os.Remove(marker)

	d := startDevServer(t)
	s := newSandbox(t, d.URL)
	s.env["PATH"] = path
	s.login(t, d, 1, "alice@acme.example")
	for _, args := range [][]string{{"version"}, {"token"}, {"status"}, {"status", "--json"}, {"logout"}, {"token", "--org", "nope"}} {
		s.run(t, args...)
	}
	s.env["AUTHOS_NONINTERACTIVE"] = "1"
	s.run(t, "token")
	if b, err := os.ReadFile(marker); err == nil {
		t.Fatalf("dbus-launch was started: %s", b)
	}
}

// initTrace runs the full helper's `version` with GODEBUG=inittrace=1 and
// returns its output: one line per package init, in order, with its
// allocations.
func initTrace(t *testing.T) string { return initTraceOf(t, fullBin, "", "version") }

// frontInitTrace is initTrace for what the front door answers itself
// (a git host no profile serves): the start-up every cache hit pays.
func frontInitTrace(t *testing.T) string {
	return initTraceOf(t, bin, "protocol=https\nhost=example.com\n\n", "git", "get")
}

func initTraceOf(t *testing.T, binary, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = []string{"GODEBUG=inittrace=1", "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestGuardInitialisesBeforeKeyring checks the package init order the
// guard relies on, as the runtime reports it.
func TestGuardInitialisesBeforeKeyring(t *testing.T) {
	t.Parallel()
	out := initTrace(t)
	guard, ring := -1, -1
	for i, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "init github.com/authos/authos-credential-helper/internal/nobus "):
			guard = i
		case strings.HasPrefix(line, "init github.com/99designs/keyring "):
			ring = i
		}
	}
	if guard < 0 || ring < 0 || guard > ring {
		t.Fatalf("nobus init at line %d, keyring init at line %d:\n%s", guard, ring, out)
	}
}

// TestInitWorkStaysSmall guards the start-up every git fetch pays for, without
// timing anything: inittrace's allocation counts are exact. Package-level
// work such as regexp.MustCompile (setup's three regexps were 266 allocations
// and 0.26 ms) or reading the time zone shows up here long before a
// benchmark notices it.
func TestInitWorkStaysSmall(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name            string
		trace           func(*testing.T) string
		perPackage, sum int
	}{
		{"front door (every hit)", frontInitTrace, 80, 250},
		{"full helper", initTrace, 80, 550},
	} {
		t.Run(tt.name, func(t *testing.T) { checkInitWork(t, tt.trace(t), tt.perPackage, tt.sum) })
	}
}

func checkInitWork(t *testing.T, out string, perPackage, total int) {
	sum := 0
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		// init <pkg> @<t> ms, <clock> ms clock, <bytes> bytes, <allocs> allocs
		if len(f) < 11 || f[0] != "init" || f[10] != "allocs" {
			continue
		}
		n, err := strconv.Atoi(f[9])
		if err != nil {
			t.Fatalf("unexpected inittrace line %q", line)
		}
		if n > perPackage {
			t.Errorf("package %s allocates %d times at init (limit %d): move that work to first use", f[1], n, perPackage)
		}
		sum += n
	}
	if sum == 0 || sum > total {
		t.Errorf("init allocations: %d in total (limit %d; 0 means the trace was not read)", sum, total)
	}
}

// The per-call binary must not link the plugin's gRPC stack (about 2.5 ms
// of start-up, measured in README); only authos-credential-plugin does.
func TestPerCallBinaryLinksNoGRPC(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		bin      string
		wantGRPC bool
	}{{bin, false}, {fullBin, false}, {pluginBinary(t), true}} {
		info, err := buildinfo.ReadFile(c.bin)
		if err != nil {
			t.Fatal(err)
		}
		var heavy []string
		for _, m := range info.Deps {
			if m.Path == "google.golang.org/grpc" || m.Path == "github.com/hashicorp/go-plugin" {
				heavy = append(heavy, m.Path)
			}
		}
		if (len(heavy) > 0) != c.wantGRPC {
			t.Errorf("%s links %v", filepath.Base(c.bin), heavy)
		}
	}
}

// The Linux front door answers cache hits, so it links none of what costs
// every start its init (README, "why two binaries"): no HTTP or TLS stack,
// no keyring backends, no YAML, no QR code. The full helper links them.
func TestFrontDoorLinksNoHeavyPackages(t *testing.T) {
	t.Parallel()
	heavy := []string{"net/http", "crypto/tls", "crypto/x509", "github.com/99designs/keyring", "github.com/godbus/dbus", "github.com/dvsekhvalnov/jose2go", "github.com/goccy/go-yaml", "rsc.io/qr", "google.golang.org/grpc"}
	for _, c := range []struct {
		pkg       string
		wantHeavy bool
	}{{rootModule, false}, {rootModule + "/cmd/" + fullName, true}} {
		cmd := exec.Command("go", "list", "-deps", c.pkg)
		cmd.Dir = rootDir
		cmd.Env = append(os.Environ(), "GOOS=linux", "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", c.pkg, err)
		}
		var found []string
		for _, dep := range strings.Fields(string(out)) {
			for _, h := range heavy {
				if dep == h || strings.HasPrefix(dep, h+"/") {
					found = append(found, dep)
				}
			}
		}
		if (len(found) > 0) != c.wantHeavy {
			t.Errorf("%s links %v (want heavy packages: %t)", c.pkg, found, c.wantHeavy)
		}
	}
}
