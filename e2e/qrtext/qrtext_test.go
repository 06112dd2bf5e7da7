// Package qrtext reads the helper's terminal QR codes back with a real
// decoder (ZXing's Go port), a test-only requirement of this module. The
// root module's cheap test checks the drawing against rsc.io/qr's encoding.
package qrtext_test

import (
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/authos/authos-credential-helper/internal/qrtext"
)

// decode turns the rendered half blocks back into pixels and reads them
// with a real QR decoder (ZXing's Go port).
func decode(t *testing.T, rendered string) string {
	t.Helper()
	var rows [][]bool
	for _, line := range strings.Split(strings.TrimSuffix(rendered, "\n"), "\n") {
		line = strings.TrimSuffix(strings.TrimPrefix(line, "\x1b[30;47m"), "\x1b[0m")
		var top, bottom []bool
		for _, r := range line {
			top = append(top, r == '█' || r == '▀')
			bottom = append(bottom, r == '█' || r == '▄')
		}
		rows = append(rows, top, bottom)
	}
	const scale = 4
	img := image.NewGray(image.Rect(0, 0, len(rows[0])*scale, len(rows)*scale))
	for y, row := range rows {
		for x, dark := range row {
			c := color.Gray{255}
			if dark {
				c = color.Gray{0}
			}
			for dy := range scale {
				for dx := range scale {
					img.SetGray(x*scale+dx, y*scale+dy, c)
				}
			}
		}
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gozxingqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("the rendered code does not decode: %v\n%s", err, rendered)
	}
	return res.GetText()
}

func TestRenderDecodes(t *testing.T) {
	for _, text := range []string{
		"http://127.0.0.1:8080/activate",
		"https://sso.acme.example/activate",
		"https://dashboard.platform.example/some/long/path/activate?x=" + strings.Repeat("y", 120),
	} {
		out, err := qrtext.Render(text)
		if err != nil {
			t.Fatal(err)
		}
		if got := decode(t, out); got != text {
			t.Fatalf("decoded %q, want %q", got, text)
		}
		if lines := strings.Count(out, "\n"); text == "https://sso.acme.example/activate" && lines > 18 {
			t.Errorf("a short URL takes %d lines; with the prompt it should fit a 24-line terminal", lines)
		}
	}
	if _, err := qrtext.Render(strings.Repeat("x", 4000)); err == nil {
		t.Fatal("a text beyond QR's capacity rendered")
	}
}
