package doctor

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/internal/config"
)

// fakeFile is a file a fake Stat reports.
type fakeFile struct{ mode fs.FileMode }

func (f fakeFile) Name() string       { return "" }
func (f fakeFile) Size() int64        { return 0 }
func (f fakeFile) Mode() fs.FileMode  { return f.mode }
func (f fakeFile) ModTime() time.Time { return time.Time{} }
func (f fakeFile) IsDir() bool        { return f.mode.IsDir() }
func (f fakeFile) Sys() any           { return nil }

// The install checks on a Linux machine whose files, PATH and links are
// the maps given: each front door a client reaches needs the full helper
// beside it.
func TestInstallChecks(t *testing.T) {
	const (
		bin  = "/h/.local/bin"
		door = bin + "/authos-credential-helper"
		full = bin + "/authos-credential-helper-full"
	)
	exe, reg := fakeFile{0o755}, fakeFile{0o644}
	for _, tc := range []struct {
		name      string
		frontDoor string
		files     map[string]fakeFile
		path      map[string]string // name on PATH -> where it is
		links     map[string]string // symlink -> target
		goos      string
		want      []string // "STATUS summary…" of each check, in order
		fix       string   // in the fix of the failed check
	}{
		{name: "installed", frontDoor: door, files: map[string]fakeFile{door: exe, full: exe},
			path:  map[string]string{"authos-credential-helper": door, "git-credential-authos": bin + "/git-credential-authos"},
			links: map[string]string{bin + "/git-credential-authos": door},
			want:  []string{"ok the full helper is beside the front door ~/.local/bin/authos-credential-helper (this helper)"}},
		{name: "full helper missing beside the front door on PATH", frontDoor: door,
			files: map[string]fakeFile{door: exe, full: exe, "/opt/old/authos-credential-helper": exe},
			path:  map[string]string{"docker-credential-authos": "/opt/old/docker-credential-authos"},
			links: map[string]string{"/opt/old/docker-credential-authos": "/opt/old/authos-credential-helper"},
			want: []string{"ok the full helper is beside the front door ~/.local/bin/authos-credential-helper (this helper)",
				"fail /opt/old/authos-credential-helper-full is missing beside the front door /opt/old/authos-credential-helper (docker-credential-authos on PATH): every command there but a cache hit"},
			fix: "copy authos-credential-helper-full of the same release into /opt/old"},
		{name: "full helper not executable", files: map[string]fakeFile{door: exe, full: reg},
			path: map[string]string{"authos-credential-helper": door},
			want: []string{"fail ~/.local/bin/authos-credential-helper-full beside the front door ~/.local/bin/authos-credential-helper (authos-credential-helper on PATH) is not an executable file"},
			fix:  "chmod 755 /h/.local/bin/authos-credential-helper-full"},
		{name: "this helper's front door gone", frontDoor: door, files: map[string]fakeFile{full: exe},
			want: []string{"fail the front door ~/.local/bin/authos-credential-helper (this helper) is missing"},
			fix:  "run ./install.sh"},
		{name: "a name on PATH that is not a link to a front door", files: map[string]fakeFile{"/usr/bin/git-credential-authos": exe},
			path: map[string]string{"git-credential-authos": "/usr/bin/git-credential-authos"}},
		{name: "not Linux", goos: "darwin", frontDoor: door, path: map[string]string{"authos-credential-helper": door}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			goos := tc.goos
			if goos == "" {
				goos = "linux"
			}
			e := Env{GOOS: goos, Home: "/h", FrontDoor: tc.frontDoor, Getenv: func(string) string { return "" },
				Stat: func(p string) (fs.FileInfo, error) {
					if f, ok := tc.files[p]; ok {
						return f, nil
					}
					return nil, &fs.PathError{Op: "stat", Path: p, Err: fs.ErrNotExist}
				},
				LookPath: func(name string) (string, error) {
					if p, ok := tc.path[name]; ok {
						return p, nil
					}
					return "", os.ErrNotExist
				},
				EvalSymlinks: func(p string) (string, error) {
					if l, ok := tc.links[p]; ok {
						return l, nil
					}
					return filepath.Clean(p), nil
				},
			}
			d := Doctor{Config: &config.Config{}, Sources: Sources{Env: e}}
			var got []string
			var fix string
			for _, c := range d.Run(context.Background()).Checks {
				if c.Section != "install" {
					continue
				}
				got = append(got, string(c.Status)+" "+c.Summary)
				if c.Status == Fail {
					fix = c.Fix
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d install checks, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("check %d:\n got %s\nwant %s…", i, got[i], tc.want[i])
				}
			}
			if !strings.Contains(fix, tc.fix) {
				t.Errorf("fix %q lacks %q", fix, tc.fix)
			}
		})
	}
}
