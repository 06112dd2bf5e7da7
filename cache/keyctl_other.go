//go:build !linux

package cache

const keyctlPerm = 0
