// Package nobus stops github.com/99designs/keyring from starting dbus-launch.
//
// keyring v1.2.2 connects to the D-Bus session bus in its package init. With
// no bus address, the godbus it uses runs `dbus-launch`, which leaks one
// dbus-daemon per process and costs milliseconds on every start, cache hits
// included. This package's init runs before keyring's (see below) and, when no
// session bus exists, points DBUS_SESSION_BUS_ADDRESS at an unsupported
// transport so the connect fails at once without starting anything.
//
// Why it runs first: Go initializes, at each step, the first package in
// import-path order whose imports are all initialized. This package imports
// only "os". keyring needs godbus, which needs "net", which needs "os"; right
// after "os" is initialized this package is ready and sorts before "net"
// ("github.com/..." < "net"), so it runs before net, godbus and keyring.
// Keep the import list at "os" alone; e2e tests assert the order.
package nobus

import "os"

// disabledAddress has a transport godbus does not know, so Dial fails fast.
const disabledAddress = "disabled:"

// state records what init changed, so Restore can undo it for child processes.
var state struct {
	setAddress, setKWallet bool
}

func init() {
	if busExists() {
		return
	}
	os.Setenv("DBUS_SESSION_BUS_ADDRESS", disabledAddress)
	state.setAddress = true
	if os.Getenv("DISABLE_KWALLET") == "" {
		os.Setenv("DISABLE_KWALLET", "1")
		state.setKWallet = true
	}
}

// Disabled reports whether init found no session bus and disabled D-Bus.
func Disabled() bool { return state.setAddress }

// Restore undoes init's environment changes once keyring's init has run, so
// that child processes (pass, gpg) see the environment the user gave.
func Restore() {
	if state.setAddress && os.Getenv("DBUS_SESSION_BUS_ADDRESS") == disabledAddress {
		os.Unsetenv("DBUS_SESSION_BUS_ADDRESS")
	}
	if state.setKWallet {
		os.Unsetenv("DISABLE_KWALLET")
	}
}

// busExists mirrors godbus's discovery: an explicit address, or a socket or
// address file in the runtime directory.
func busExists() bool {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return true
	}
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		dir = "/run/user/" + itoa(os.Getuid())
	}
	for _, name := range []string{"/bus", "/dbus-session"} {
		if _, err := os.Stat(dir + name); err == nil {
			return true
		}
	}
	return false
}

// itoa avoids importing strconv, which would delay this package's init.
func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
