// Package qrtext draws a QR code in a terminal with Unicode half blocks, two
// modules per character, black on white whatever the terminal's colours, so
// a phone can open the verification URL of a box with no browser.
package qrtext

import (
	"errors"
	"strings"

	"rsc.io/qr/coding"
)

// quiet is the light border around the code, in modules. The standard asks
// for 4; phones read 2 reliably and it keeps the code on an 80x24 screen.
const quiet = 2

// Render returns text as a QR code (error correction level L, the smallest
// version that fits), one string of lines ending in "\n".
func Render(text string) (string, error) {
	var enc coding.Encoding = coding.String(text)
	v := coding.Version(coding.MinVersion)
	for ; enc.Bits(v) > v.DataBytes(coding.L)*8; v++ {
		if v == coding.MaxVersion {
			return "", errors.New("too long for a QR code")
		}
	}
	plan, err := coding.NewPlan(v, coding.L, 0)
	if err != nil {
		return "", err
	}
	code, err := plan.Encode(enc)
	if err != nil {
		return "", err
	}
	const on, off = "\x1b[30;47m", "\x1b[0m" // black on white
	var b strings.Builder
	for y := -quiet; y < code.Size+quiet; y += 2 {
		b.WriteString(on)
		for x := -quiet; x < code.Size+quiet; x++ {
			top, bottom := code.Black(x, y), code.Black(x, y+1)
			switch {
			case top && bottom:
				b.WriteString("█")
			case top:
				b.WriteString("▀")
			case bottom:
				b.WriteString("▄")
			default:
				b.WriteString(" ")
			}
		}
		b.WriteString(off + "\n")
	}
	return b.String(), nil
}
