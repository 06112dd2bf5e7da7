// Package front is the Linux front door, installed as authos-credential-helper:
// it answers cache hits and "not my host" itself and hands every other
// request, unchanged, to the full binary beside it (FullName), which links
// the sign-in, the keyring backends and the servers. Go runs the init of
// every package a binary links, and those cost a hit about a millisecond
// at every start; the front door links only what a hit needs.
//
// It answers only what it can answer exactly as the full binary would;
// anything else (an error, a miss, a flag it does not know) goes to the
// full binary, which then does all of the work and all of the talking.
package front

// FullName is the full binary's file name, looked for beside the front door.
const FullName = "authos-credential-helper-full"
