package e2e

// The real clients the end-to-end tests drive (test-only: none of this is
// linked into the binaries).
import (
	_ "github.com/docker/docker-credential-helpers/client"
	_ "github.com/google/go-containerregistry/pkg/authn"
	_ "github.com/google/go-containerregistry/pkg/registry"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "github.com/hashicorp/terraform-svchost/auth"
	_ "k8s.io/client-go/kubernetes"
	_ "k8s.io/client-go/rest"
)
