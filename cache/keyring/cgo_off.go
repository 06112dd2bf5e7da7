//go:build !cgo

package keyring

const cgoEnabled = false
