package setup

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// A tiny splicing JSON object editor: members are located by byte offsets
// and changed in place, so every other byte of the file (key order,
// indentation, number spelling) stays as it was.

type jsonMember struct {
	key          string
	kStart, kEnd int // the quoted key
	vStart, vEnd int // the value
	raw          json.RawMessage
}

type jsonObject struct {
	open, close int // offsets of '{' and '}'
	members     []jsonMember
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// jsonValueEnd decodes the value starting at i and returns its end.
func jsonValueEnd(b []byte, i int) (int, error) {
	dec := json.NewDecoder(bytes.NewReader(b[i:]))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return 0, err
	}
	return i + int(dec.InputOffset()), nil
}

// scanObject reads the object whose '{' is at b[open].
func scanObject(b []byte, open int) (jsonObject, error) {
	o := jsonObject{open: open}
	if open >= len(b) || b[open] != '{' {
		return o, errors.New("not a JSON object")
	}
	i := skipWS(b, open+1)
	if i < len(b) && b[i] == '}' {
		o.close = i
		return o, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return o, fmt.Errorf("expected a key at offset %d", i)
		}
		var m jsonMember
		m.kStart = i
		end, err := jsonValueEnd(b, i)
		if err != nil {
			return o, err
		}
		m.kEnd = end
		if err := json.Unmarshal(b[m.kStart:m.kEnd], &m.key); err != nil {
			return o, err
		}
		i = skipWS(b, end)
		if i >= len(b) || b[i] != ':' {
			return o, fmt.Errorf("expected ':' at offset %d", i)
		}
		m.vStart = skipWS(b, i+1)
		if m.vEnd, err = jsonValueEnd(b, m.vStart); err != nil {
			return o, err
		}
		m.raw = json.RawMessage(b[m.vStart:m.vEnd])
		o.members = append(o.members, m)
		i = skipWS(b, m.vEnd)
		if i < len(b) && b[i] == ',' {
			i = skipWS(b, i+1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			o.close = i
			return o, nil
		}
		return o, fmt.Errorf("expected ',' or '}' at offset %d", i)
	}
}

// parseTopObject checks that b is one JSON object and scans it.
func parseTopObject(b []byte) (jsonObject, error) {
	if !json.Valid(b) {
		var v any
		err := json.Unmarshal(b, &v)
		return jsonObject{}, err
	}
	return scanObject(b, skipWS(b, 0))
}

func (o jsonObject) find(key string) int {
	for i, m := range o.members {
		if m.key == key {
			return i
		}
	}
	return -1
}

func splice(b []byte, start, end int, with string) []byte {
	out := make([]byte, 0, len(b)-(end-start)+len(with))
	out = append(out, b[:start]...)
	out = append(out, with...)
	return append(out, b[end:]...)
}

// indentUnit guesses one level of indentation from an object's first member
// (tab, as docker writes, when there is nothing to go by).
func (o jsonObject) memberIndent(b []byte) (string, bool) {
	if len(o.members) == 0 {
		return "", false
	}
	return string(b[o.open+1 : o.members[0].kStart]), true
}

// insertMember adds "key": value at the end of o. depth is o's nesting
// level (0 for the top level), used for indentation when o is empty; unit
// is one indentation level ("" for compact JSON).
func insertMember(b []byte, o jsonObject, key, value string, depth int, unit string) []byte {
	k, _ := json.Marshal(key)
	if len(o.members) == 0 {
		if unit == "" {
			return splice(b, o.open+1, o.close, string(k)+":"+value)
		}
		return splice(b, o.open+1, o.close, "\n"+strings.Repeat(unit, depth+1)+string(k)+": "+value+"\n"+strings.Repeat(unit, depth))
	}
	first := o.members[0]
	ind := string(b[o.open+1 : first.kStart])
	sep := string(b[first.kEnd:first.vStart])
	last := o.members[len(o.members)-1]
	return splice(b, last.vEnd, last.vEnd, ","+ind+string(k)+sep+value)
}

// removeMember deletes o.members[i] with its comma.
func removeMember(b []byte, o jsonObject, i int) []byte {
	switch {
	case len(o.members) == 1:
		return splice(b, o.open+1, o.close, "")
	case i > 0:
		return splice(b, o.members[i-1].vEnd, o.members[i].vEnd, "")
	default:
		return splice(b, o.members[0].kStart, o.members[1].kStart, "")
	}
}

// replaceValue sets o.members[i]'s value.
func replaceValue(b []byte, o jsonObject, i int, value string) []byte {
	return splice(b, o.members[i].vStart, o.members[i].vEnd, value)
}

// jsonUnit is one indentation level of the top-level object b, "" when it
// is compact; a tab when it has no members to tell.
func jsonUnit(b []byte, top jsonObject) string {
	ind, ok := top.memberIndent(b)
	if !ok {
		return "\t"
	}
	if i := strings.LastIndexByte(ind, '\n'); i >= 0 {
		return ind[i+1:]
	}
	return ""
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
