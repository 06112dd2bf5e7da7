module github.com/authos/authos-credential-helper

go 1.26.8

require (
	github.com/99designs/keyring v1.2.2
	github.com/adrg/xdg v0.5.3
	github.com/pelletier/go-toml/v2 v2.4.3
	golang.org/x/sys v0.26.0
	golang.org/x/term v0.3.0
)

require (
	github.com/99designs/go-keychain v0.0.0-20191008050251-8e49817e8af4 // indirect
	github.com/danieljoos/wincred v1.1.2 // indirect
	github.com/dvsekhvalnov/jose2go v1.5.0 // indirect
	github.com/godbus/dbus v0.0.0-20190726142602-4481cbc300e2 // indirect
	github.com/gsterjov/go-libsecret v0.0.0-20161001094733-a6f4afe4910c // indirect
	github.com/mtibben/percent v0.2.1 // indirect
)
