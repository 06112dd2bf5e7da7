package termsafe

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// maxLink bounds a link we offer; AuthOS's activation addresses are short.
const maxLink = 2048

// CheckLink says why raw must not be offered to a person as a link to open
// (in a browser, as a QR code), or nil if it may: an absolute https URL, or
// http on this machine (localhost, 127.0.0.0/8, ::1), written in printable
// ASCII without backslashes, with no user info before the host (which could
// pass for the host: "https://good.example@evil.example"), no
// percent-encoding in the host, and a host that is a plain DNS name (IDN
// only as punycode) or IP address. Such a link never starts with "-".
func CheckLink(raw string) error {
	if len(raw) > maxLink {
		return fmt.Errorf("it is longer than %d bytes", maxLink)
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return errors.New("it has spaces, control, non-ASCII or backslash characters")
		}
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return errors.New("it is not an absolute web address")
	}
	scheme = strings.ToLower(scheme)
	if scheme != "https" && scheme != "http" {
		if len(scheme) > 16 {
			scheme = scheme[:16] + "…"
		}
		return fmt.Errorf("it is a %s: address, not https", scheme)
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	if strings.Contains(authority, "@") {
		return errors.New("it has user info before the host, which could pass for the host")
	}
	if strings.Contains(authority, "%") {
		return errors.New("its host is percent-encoded")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" || u.User != nil {
		return errors.New("it is not a well-formed web address")
	}
	host, port := u.Hostname(), u.Port()
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return errors.New("its port is not a number from 1 to 65535")
		}
	}
	if strings.HasPrefix(u.Host, "[") {
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() || a.Zone() != "" {
			return errors.New("its host is not a valid IPv6 address")
		}
	} else if !dnsName(host) {
		return errors.New("its host is not a plain DNS name or IPv4 address")
	}
	if scheme == "http" && !loopback(host) {
		return errors.New("it is plain http to a host other than this machine")
	}
	return nil
}

// loopback reports whether host names this machine.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Zone() == "" && a.IsLoopback()
}

// dnsName reports whether host is dot-separated labels of letters, digits
// and inner hyphens (which covers IPv4 addresses and punycode).
func dnsName(host string) bool {
	if host == "" || len(host) > 253 {
		return false
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
