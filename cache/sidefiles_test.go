package cache

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestMissLog(t *testing.T) {
	l := Misses(filepath.Join(t.TempDir(), "state"))
	if got, err := l.List(); err != nil || got != nil {
		t.Fatalf("no file: %v %v", got, err)
	}
	at := time.Date(2026, 12, 1, 10, 3, 0, 0, time.UTC)
	for i := range 12 {
		if err := l.Record(Miss{Client: "terraform", Host: fmt.Sprintf("tf%d.acme.example", i), Entry: "id-x", At: at.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	// The same client, host and identity again replaces its record.
	if err := l.Record(Miss{Client: "terraform", Host: "tf11.acme.example", Entry: "id-x", At: at.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	got, err := l.List()
	if err != nil || len(got) != maxMisses || got[0].Host != "tf11.acme.example" || !got[0].At.Equal(at.Add(time.Hour)) || got[1].Host != "tf10.acme.example" {
		t.Fatalf("List = %+v, %v", got, err)
	}
	if st, err := os.Stat(l.Path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode: %v %v", st, err)
	}
	os.WriteFile(l.Path, []byte("{damaged"), 0o600)
	if _, err := l.List(); err == nil {
		t.Fatal("a damaged log reads as empty")
	}
	if err := l.Record(Miss{Client: "git"}); err != nil {
		t.Fatal(err)
	}
	if got, err := l.List(); err != nil || len(got) != 1 {
		t.Fatalf("after replacing a damaged log: %+v %v", got, err)
	}
}

func TestFlowBoard(t *testing.T) {
	b := FlowBoard{Dir: filepath.Join(t.TempDir(), "locks")}
	if _, ok, err := b.Get("id-abc"); ok || err != nil {
		t.Fatalf("none: %v %v", ok, err)
	}
	f := Flow{URI: "https://sso.example/activate", UserCode: "ABCD-EFGH", ExpiresAt: time.Unix(1_800_000_000, 0).UTC()}
	if err := b.Put("id-abc", f); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := b.Get("id-abc"); !ok || err != nil || got != f {
		t.Fatalf("Get = %+v %v %v", got, ok, err)
	}
	if st, err := os.Stat(filepath.Join(b.Dir, "id-abc.flow")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode: %v %v", st, err)
	}
	if err := b.Put("../x", f); err == nil {
		t.Fatal("a name with a path in it")
	}
	b.Remove("id-abc")
	if _, ok, _ := b.Get("id-abc"); ok {
		t.Fatal("still there after Remove")
	}
}
