package qrtext

import (
	"strings"
	"testing"

	"rsc.io/qr/coding"
)

// The end-to-end module reads the rendered codes back with a real QR decoder
// (e2e/qrtext); this cheap test checks the drawing itself: every module of
// the code rsc.io/qr encodes, at its place, on the light border.

// grid turns the rendered half blocks back into rows of dark modules,
// failing on anything but the four block characters between the colours.
func grid(t *testing.T, rendered string) [][]bool {
	t.Helper()
	if !strings.HasSuffix(rendered, "\n") {
		t.Fatal("the last line does not end in a newline")
	}
	var rows [][]bool
	for _, line := range strings.Split(strings.TrimSuffix(rendered, "\n"), "\n") {
		body, on := strings.CutPrefix(line, "\x1b[30;47m")
		body, off := strings.CutSuffix(body, "\x1b[0m")
		if !on || !off || strings.Contains(body, "\x1b") {
			t.Fatalf("line %q is not black on white then reset", line)
		}
		var top, bottom []bool
		for _, r := range body {
			if !strings.ContainsRune("█▀▄ ", r) {
				t.Fatalf("line %q has %q", line, r)
			}
			top = append(top, r == '█' || r == '▀')
			bottom = append(bottom, r == '█' || r == '▄')
		}
		if len(rows) > 0 && len(top) != len(rows[0]) {
			t.Fatalf("line %q is %d wide, the first %d", line, len(top), len(rows[0]))
		}
		rows = append(rows, top, bottom)
	}
	return rows
}

func TestRenderDrawsTheEncodedModules(t *testing.T) {
	for _, text := range []string{
		"http://127.0.0.1:8080/activate",
		"https://sso.acme.example/activate",
		"https://dashboard.platform.example/some/long/path/activate?x=" + strings.Repeat("y", 120),
	} {
		out, err := Render(text)
		if err != nil {
			t.Fatal(err)
		}
		rows := grid(t, out)
		size := len(rows[0]) - 2*quiet
		v := coding.Version((size - 17) / 4)
		if size != 17+4*int(v) || v < coding.MinVersion || v > coding.MaxVersion {
			t.Fatalf("%q: %d modules wide is no QR version", text, size)
		}
		enc := coding.String(text)
		if v > coding.MinVersion && enc.Bits(v-1) <= (v-1).DataBytes(coding.L)*8 {
			t.Errorf("%q drawn as version %d; version %d holds it", text, v, v-1)
		}
		if want := (size + 2*quiet + 1) / 2; len(rows)/2 != want {
			t.Errorf("%q: %d lines, want %d", text, len(rows)/2, want)
		}
		plan, err := coding.NewPlan(v, coding.L, 0)
		if err != nil {
			t.Fatal(err)
		}
		code, err := plan.Encode(enc)
		if err != nil {
			t.Fatal(err)
		}
		for y, row := range rows {
			for x, dark := range row {
				if want := code.Black(x-quiet, y-quiet); dark != want {
					t.Fatalf("%q: module (%d,%d) dark=%v, want %v\n%s", text, x-quiet, y-quiet, dark, want, out)
				}
			}
		}
		if lines := strings.Count(out, "\n"); text == "https://sso.acme.example/activate" && lines > 18 {
			t.Errorf("a short URL takes %d lines; with the prompt it should fit a 24-line terminal", lines)
		}
	}
	if _, err := Render(strings.Repeat("x", 4000)); err == nil {
		t.Fatal("a text beyond QR's capacity rendered")
	}
}
