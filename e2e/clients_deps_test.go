package e2e

// The real clients the end-to-end tests drive. They are this module's
// requirements, never the root module's: a program that imports tokensource
// does not inherit them.
import (
	_ "github.com/docker/docker-credential-helpers/client"
	_ "github.com/google/go-containerregistry/pkg/authn"
	_ "github.com/google/go-containerregistry/pkg/registry"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "github.com/hashicorp/terraform-svchost/auth"
	_ "k8s.io/client-go/kubernetes"
	_ "k8s.io/client-go/rest"
)

// What the programs under testdata/ link (go mod tidy does not look there):
// testdata/rawkeyring links keyring, testdata/futureplugin go-plugin.
import (
	_ "github.com/99designs/keyring"
	_ "github.com/hashicorp/go-plugin"
)
