// Command futureplugin is a token-service plugin from a future release: it
// speaks protocol version 2, so a host of version 1 must refuse it clearly.
package main

import (
	"github.com/hashicorp/go-plugin"

	"github.com/authos/authos-credential-helper/tokenplugin"
)

func main() {
	hs := tokenplugin.Handshake()
	hs.ProtocolVersion = tokenplugin.ProtocolVersion + 1
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: hs,
		Plugins:         plugin.PluginSet{tokenplugin.Name: &tokenplugin.Plugin{}},
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}
