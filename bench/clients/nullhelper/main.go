// Command nullhelper is the baseline of bench/clients: a credential helper
// that does nothing but answer `get` with the token in $BENCH_TOKEN, in the
// protocol its name selects (git-credential-*, docker-credential-*,
// terraform-credentials-*, anything else kubectl's exec plugin), as cheaply
// as a Go program can. A client run with it costs what the client's own
// protocol costs: the processes it starts and the requests it makes.
package main

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

func main() {
	tok := os.Getenv("BENCH_TOKEN")
	name := filepath.Base(os.Args[0])
	get := slices.Contains(os.Args[1:], "get")
	io.Copy(io.Discard, os.Stdin) // git and docker write a request
	switch {
	case strings.HasPrefix(name, "git-credential-"):
		if get {
			os.Stdout.WriteString("username=oauth2\npassword=" + tok + "\n")
		}
	case strings.HasPrefix(name, "docker-credential-"):
		os.Stdout.WriteString(`{"ServerURL":"","Username":"oauth2","Secret":` + strconv.Quote(tok) + "}\n")
	case strings.HasPrefix(name, "terraform-credentials-"):
		os.Stdout.WriteString(`{"token":` + strconv.Quote(tok) + "}\n")
	default:
		os.Stdout.WriteString(`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"token":` + strconv.Quote(tok) + "}}\n")
	}
}
