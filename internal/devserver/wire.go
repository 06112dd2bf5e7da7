package devserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// apiError is an AuthOS AppError: it renders as the {error, error_code,
// timestamp} envelope.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func badRequest(msg string) *apiError {
	return &apiError{http.StatusBadRequest, "BAD_REQUEST", msg}
}

func unauthorized(msg string) *apiError {
	return &apiError{http.StatusUnauthorized, "UNAUTHORIZED", msg}
}

func forbidden(msg string) *apiError {
	return &apiError{http.StatusForbidden, "FORBIDDEN", msg}
}

func notFound(msg string) *apiError {
	return &apiError{http.StatusNotFound, "NOT_FOUND", msg}
}

var (
	errPending = &apiError{http.StatusBadRequest, "DEVICE_CODE_PENDING", "Authorization pending"}
	errExpired = &apiError{http.StatusBadRequest, "DEVICE_CODE_EXPIRED", "Device code expired"}
)

type envelope struct {
	Error     string `json:"error"`
	ErrorCode string `json:"error_code"`
	Timestamp string `json:"timestamp"`
}

func (s *Server) writeError(w http.ResponseWriter, e *apiError) {
	s.writeJSON(w, e.status, envelope{e.message, e.code, rfc3339(s.now())})
}

// writeJSON writes v like axum's Json: compact, no HTML escaping, no
// trailing newline.
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := compactJSON(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// compactJSON encodes v as axum's Json does.
func compactJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding the response: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// notFoundHandler is axum's bare 404, for routes AuthOS registers only to
// refuse them.
func notFoundHandler(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) }

// writePlain writes a plain-text answer the way axum's rejections do.
func writePlain(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}

// rfc3339 formats t like chrono's to_rfc3339 on a UTC time, which is what
// AuthOS puts in the envelope: fraction digits as needed (0, 3, 6 or 9) and
// "+00:00" rather than "Z".
func rfc3339(t time.Time) string {
	t = t.UTC()
	layout := "2006-01-02T15:04:05"
	switch ns := t.Nanosecond(); {
	case ns == 0:
	case ns%1_000_000 == 0:
		layout += ".000"
	case ns%1_000 == 0:
		layout += ".000000"
	default:
		layout += ".000000000"
	}
	return t.Format(layout) + "+00:00"
}

// clientIP is the rate-limit key: the peer address, as AuthOS uses when
// proxy headers are not trusted.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// maxBody is axum's default body limit.
const maxBody = 2 << 20

// rejectionKind classifies a body problem the way axum's JsonRejection does.
type rejectionKind int

const (
	rejectContentType rejectionKind = iota + 1 // MissingJsonContentType
	rejectSyntax                               // JsonSyntaxError
	rejectData                                 // JsonDataError
	rejectBody                                 // BytesRejection (too large, read error)
)

type rejection struct {
	kind rejectionKind
	msg  string // serde-style detail
}

// writeAxumJSONRejection renders a rejection as axum's plain Json extractor does (used by
// /auth/token in every AuthOS version).
func writeAxumJSONRejection(w http.ResponseWriter, rej *rejection) {
	switch rej.kind {
	case rejectContentType:
		writePlain(w, http.StatusUnsupportedMediaType, "Expected request with `Content-Type: application/json`")
	case rejectSyntax:
		writePlain(w, http.StatusBadRequest, "Failed to parse the request body as JSON: "+rej.msg)
	case rejectData:
		writePlain(w, http.StatusUnprocessableEntity, "Failed to deserialize the JSON body into the target type: "+rej.msg)
	default:
		writePlain(w, http.StatusRequestEntityTooLarge, "Failed to buffer the request body: "+rej.msg)
	}
}

// json400Error maps a rejection as AuthOS's Json400 extractor does: every
// body problem becomes a 400 envelope.
func json400Error(rej *rejection) *apiError {
	switch rej.kind {
	case rejectContentType:
		return badRequest("Content-Type must be application/json")
	case rejectSyntax:
		return badRequest("JSON syntax error: Failed to parse the request body as JSON: " + rej.msg)
	case rejectData:
		return badRequest("Invalid JSON data: Failed to deserialize the JSON body into the target type: " + rej.msg)
	default:
		return badRequest("JSON parsing error: Failed to buffer the request body: " + rej.msg)
	}
}

// isJSONContentType mirrors axum: application/json or application/*+json.
func isJSONContentType(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	typ, sub, ok := strings.Cut(mt, "/")
	return ok && typ == "application" && (sub == "json" || strings.HasSuffix(sub, "+json"))
}

// field describes one struct field for decodeStruct.
type field struct {
	name     string
	optional bool // Option<String>: may be absent or null
}

// readJSONStruct reads the body and decodes a flat struct of string fields,
// reproducing axum's content-type check and serde_json's error classes and
// (approximately) messages, so rejections have the same status and shape.
// Absent optional fields are missing from the result map.
func readJSONStruct(r *http.Request, structName string, fields []field) (map[string]string, *rejection) {
	if !isJSONContentType(r) {
		return nil, &rejection{kind: rejectContentType}
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &rejection{rejectBody, "length limit exceeded"}
		}
		return nil, &rejection{rejectBody, err.Error()}
	}
	return decodeStruct(body, structName, fields)
}

func decodeStruct(body []byte, structName string, fields []field) (map[string]string, *rejection) {
	if rej := syntaxCheck(body); rej != nil {
		return nil, rej
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, _ := dec.Token() // the body is valid JSON, so this cannot fail
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		var raw json.RawMessage
		_ = json.Unmarshal(body, &raw)
		return nil, &rejection{rejectData, fmt.Sprintf("invalid type: %s, expected struct %s at %s",
			unexpected(bytes.TrimSpace(raw)), structName, position(body, int(dec.InputOffset())))}
	}
	known := map[string]field{}
	for _, f := range fields {
		known[f.name] = f
	}
	out := map[string]string{}
	seen := map[string]bool{}
	for dec.More() {
		keyTok, _ := dec.Token()
		key, _ := keyTok.(string)
		var raw json.RawMessage
		_ = dec.Decode(&raw)
		f, ok := known[key]
		if !ok {
			continue // serde ignores unknown fields by default
		}
		at := position(body, int(dec.InputOffset()))
		if seen[key] {
			return nil, &rejection{rejectData, fmt.Sprintf("duplicate field `%s` at %s", key, at)}
		}
		seen[key] = true
		if string(raw) == "null" && f.optional {
			continue
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil || string(raw) == "null" {
			return nil, &rejection{rejectData, fmt.Sprintf("%s: invalid type: %s, expected a string at %s", key, unexpected(raw), at)}
		}
		out[key] = v
	}
	_, _ = dec.Token() // closing '}'
	end := position(body, int(dec.InputOffset()))
	for _, f := range fields {
		if !seen[f.name] && !f.optional {
			return nil, &rejection{rejectData, fmt.Sprintf("missing field `%s` at %s", f.name, end)}
		}
	}
	return out, nil
}

// syntaxCheck reports invalid JSON as serde_json would classify it: EOF and
// syntax errors, including trailing characters after the value.
func syntaxCheck(body []byte) *rejection {
	if json.Valid(body) {
		return nil
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return &rejection{rejectSyntax, "EOF while parsing a value at " + position(body, len(body))}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var v json.RawMessage
	err := dec.Decode(&v)
	if err == nil {
		// A complete value followed by something else.
		rest := int(dec.InputOffset())
		for rest < len(body) && isSpace(body[rest]) {
			rest++
		}
		return &rejection{rejectSyntax, "trailing characters at " + position(body, rest+1)}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &rejection{rejectSyntax, "EOF while parsing a value at " + position(body, len(body))}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &rejection{rejectSyntax, "expected value at " + position(body, int(se.Offset))}
	}
	return &rejection{rejectSyntax, "expected value at " + position(body, 1)}
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// position renders serde_json's "line L column C" after consumed bytes.
func position(body []byte, consumed int) string {
	if consumed > len(body) {
		consumed = len(body)
	}
	if consumed < 0 {
		consumed = 0
	}
	line := 1 + bytes.Count(body[:consumed], []byte("\n"))
	col := consumed - (bytes.LastIndexByte(body[:consumed], '\n') + 1)
	return "line " + strconv.Itoa(line) + " column " + strconv.Itoa(col)
}

// unexpected describes a JSON value like serde's Unexpected.
func unexpected(raw []byte) string {
	s := strings.TrimSpace(string(raw))
	switch {
	case s == "null":
		return "null"
	case s == "true" || s == "false":
		return "boolean `" + s + "`"
	case strings.HasPrefix(s, "["):
		return "sequence"
	case strings.HasPrefix(s, "{"):
		return "map"
	case strings.HasPrefix(s, `"`):
		var v string
		_ = json.Unmarshal(raw, &v)
		return "string " + strconv.Quote(v)
	case strings.ContainsAny(s, ".eE"):
		return "floating point `" + s + "`"
	default:
		return "integer `" + s + "`"
	}
}
