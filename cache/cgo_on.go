//go:build cgo

package cache

const cgoEnabled = true
