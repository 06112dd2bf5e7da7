//go:build cgo

package keyring

const cgoEnabled = true
