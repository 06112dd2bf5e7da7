// Package stack holds Grow, which both mains call first.
package stack

// Grow grows the main goroutine's stack once, called first thing in main,
// where the stack holds two frames. Otherwise it starts at 2 KB and is
// copied as the request goes deeper, each copy walking every frame's stack
// map: two copies on a "not my host" answer and three on a cache hit, which
// cost 0.2-0.3 ms of page faults in the runtime's tables (bench/startup.sh,
// measured with a uprobe on runtime.copystack). A 16 KB stack holds every
// hit path.
//
//go:noinline
func Grow() {
	var frame [8 << 10]byte
	keep(frame[:])
}

//go:noinline
func keep([]byte) {}
