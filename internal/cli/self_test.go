package cli

import "testing"

// The full helper writes and shows the front door's path, never its own:
// a client configured with the full binary's path would skip the front
// door and pay its start-up at every hit.
func TestFrontDoorOf(t *testing.T) {
	for _, tc := range []struct{ exe, want string }{
		{"/usr/bin/authos-credential-helper-full", "/usr/bin/authos-credential-helper"},
		{"/home/a/.local/bin/authos-credential-helper-full", "/home/a/.local/bin/authos-credential-helper"},
		{"/usr/bin/authos-credential-helper", "/usr/bin/authos-credential-helper"},
		{"/opt/x/authos-credential-helper-full.old", "/opt/x/authos-credential-helper-full.old"},
		{"/tmp/go-build1/exe/cli.test", "/tmp/go-build1/exe/cli.test"},
	} {
		if got := frontDoorOf(tc.exe); got != tc.want {
			t.Errorf("frontDoorOf(%q) = %q, want %q", tc.exe, got, tc.want)
		}
	}
}
