package activation

import (
	"html"
	"io"
	"net/http"
	"strings"
)

// page is everything a page may show; the template picks by the flags.
type page struct {
	Title   string
	Problem string // one clear sentence, shown as an alert

	EnterCode bool
	Code      string
	CSRF      string

	Org, Service string
	Platform     bool
	Providers    []providerLink

	MFA          bool
	PreAuth      string
	DeviceCodeID string

	Success bool
}

func (h *Handler) render(w http.ResponseWriter, status int, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, p.html())
}

// html builds the page. Every value goes through esc (html.EscapeString
// covers text and double-quoted attributes, the only places values go);
// html/template is not used because its package init would cost every
// start of the per-call binary, which links this package.
func (p page) html() string {
	esc := html.EscapeString
	var b strings.Builder
	b.WriteString(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>` + esc(p.Title) + ` · AuthOS</title>
<link rel="stylesheet" href="/activate/style.css">
</head>
<body>
<main>
<h1>` + esc(p.Title) + "</h1>\n")
	invalid := ""
	if p.Problem != "" {
		b.WriteString(`<p class="problem" role="alert" id="problem">` + esc(p.Problem) + "</p>\n")
		invalid = ` aria-describedby="problem" aria-invalid="true"`
	}
	switch {
	case p.EnterCode:
		b.WriteString(`<form method="post" action="/activate">
  <input type="hidden" name="csrf" value="` + esc(p.CSRF) + `">
  <label for="user_code">Enter the code your terminal or device shows</label>
  <input id="user_code" name="user_code" value="` + esc(p.Code) + `" autocomplete="one-time-code" autocapitalize="characters"
    spellcheck="false" inputmode="text" maxlength="16" required autofocus placeholder="ABCD-EFGH"` + invalid + `>
  <button type="submit">Continue</button>
</form>
<p class="hint">Only enter a code you started yourself. Nobody from AuthOS will ever ask you for one.</p>
`)
	case len(p.Providers) > 0:
		who := esc(p.Org) + " / " + esc(p.Service)
		if p.Platform {
			who = "The AuthOS platform administration CLI"
		}
		b.WriteString(`<p><strong>` + who + `</strong> is asking to sign in as you with code <strong class="code">` + esc(p.Code) + `</strong>.</p>
<p>If you did not start this sign-in, close this page.</p>
<ul class="providers">
`)
		for _, l := range p.Providers {
			b.WriteString(`  <li><a class="button" href="` + esc(l.URL) + `">Continue with ` + esc(l.Label) + "</a></li>\n")
		}
		b.WriteString("</ul>\n")
	case p.MFA:
		b.WriteString(`<form method="post" action="/activate/mfa-challenge">
  <input type="hidden" name="csrf" value="` + esc(p.CSRF) + `">
  <input type="hidden" name="preauth_token" value="` + esc(p.PreAuth) + `">
  <input type="hidden" name="device_code_id" value="` + esc(p.DeviceCodeID) + `">
  <input type="hidden" name="user_code" value="` + esc(p.Code) + `">
  <label for="code">Enter the six-digit code from your authenticator app</label>
  <input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" pattern="[0-9 ]*" maxlength="7"
    required autofocus` + invalid + `>
  <button type="submit">Verify</button>
</form>
`)
	case p.Success:
		b.WriteString(`<p class="success" role="status">Your device is signed in. You can close this page and go back to your terminal.</p>` + "\n")
	}
	b.WriteString("</main>\n</body>\n</html>\n")
	return b.String()
}

// styleCSS is served from /activate/style.css so the CSP can forbid inline
// styles. Colours keep at least 7:1 contrast; targets are 44 px high.
const styleCSS = `*{box-sizing:border-box}
body{margin:0;font:1.125rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111;background:#fff}
main{max-width:32rem;margin:0 auto;padding:1.5rem 1rem}
h1{font-size:1.6rem;margin:0 0 1rem}
label{display:block;font-weight:600;margin:0 0 .5rem}
input{display:block;width:100%;font:inherit;font-size:1.5rem;letter-spacing:.1em;padding:.5rem .75rem;min-height:44px;border:2px solid #333;border-radius:6px;text-transform:uppercase}
input:focus,a:focus,button:focus{outline:3px solid #0b4bd6;outline-offset:2px}
button,.button{display:block;width:100%;margin:1rem 0 0;padding:.75rem 1rem;min-height:44px;font:inherit;font-weight:600;text-align:center;color:#fff;background:#0b3d91;border:0;border-radius:6px;text-decoration:none;cursor:pointer}
.providers{list-style:none;padding:0;margin:0}
.problem{padding:.75rem 1rem;border-left:6px solid #a00;background:#fdecec;color:#600}
.success{padding:.75rem 1rem;border-left:6px solid #0a6b2a;background:#e8f5ec;color:#063}
.code{font-family:ui-monospace,Menlo,Consolas,monospace;letter-spacing:.1em}
.hint{color:#333;font-size:1rem}
@media (prefers-color-scheme:dark){body{color:#eee;background:#111}input{background:#000;color:#fff;border-color:#bbb}.hint{color:#ccc}.problem{background:#3a0d0d;color:#fdd}.success{background:#0d2a16;color:#cfe}}
`
