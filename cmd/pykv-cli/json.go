package main

import (
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pykv/pykv/reply"
)

// --json prints a reply as one line of JSON, compact, as redis-cli 7's
// --json does: a map as an object (in the server's order), an array as
// an array, nil as null, an integer as a number, OK and other statuses
// and strings as strings. Two choices are pykv-cli's own, so that every
// line parses as JSON and loses nothing:
//
//   - a string that is not valid UTF-8 is {"base64":"..."}, its bytes in
//     standard base64 with padding (redis-cli writes the bytes as they
//     are, which is not JSON); valid UTF-8 is always a plain string, so
//     the object cannot be mistaken for a string's value;
//   - an error reply is {"error":"ERR ..."} (redis-cli writes
//     error:"ERR ...", which is not JSON).
//
// A map's key is an object key when it is a string; a key of another
// kind (an integer, a non-UTF-8 string) becomes the text of its JSON, as
// redis-cli does for keys that are not strings.

// formatJSON renders r as one line of JSON, ending in a newline.
func formatJSON(r reply.Reply) string {
	var b strings.Builder
	writeJSON(&b, r)
	b.WriteByte('\n')
	return b.String()
}

func writeJSON(b *strings.Builder, r reply.Reply) {
	switch r.Kind {
	case reply.KindOK:
		b.WriteString(`"OK"`)
	case reply.KindStatus, reply.KindBytes:
		writeJSONBytes(b, r.Bytes)
	case reply.KindInt:
		b.WriteString(strconv.FormatInt(r.Int, 10))
	case reply.KindNil:
		b.WriteString("null")
	case reply.KindError:
		b.WriteString(`{"error":`)
		writeJSONString(b, errorText(r))
		b.WriteByte('}')
	case reply.KindArray:
		b.WriteByte('[')
		for i, it := range r.Array {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, it)
		}
		b.WriteByte(']')
	case reply.KindMap:
		b.WriteByte('{')
		for i := 0; i+1 < len(r.Array); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONKey(b, r.Array[i])
			b.WriteByte(':')
			writeJSON(b, r.Array[i+1])
		}
		b.WriteByte('}')
	default:
		b.WriteString(`{"error":"pykv-cli: unknown reply type ` + strconv.Itoa(int(r.Kind)) + `"}`)
	}
}

// writeJSONKey writes a map's key: a string as itself, anything else as
// the JSON text of its value, quoted.
func writeJSONKey(b *strings.Builder, k reply.Reply) {
	if (k.Kind == reply.KindBytes || k.Kind == reply.KindStatus) && utf8.Valid(k.Bytes) {
		writeJSONString(b, string(k.Bytes))
		return
	}
	var kb strings.Builder
	writeJSON(&kb, k)
	writeJSONString(b, kb.String())
}

// writeJSONBytes writes s as a JSON string when it is UTF-8, else as
// {"base64":"..."}.
func writeJSONBytes(b *strings.Builder, s []byte) {
	if utf8.Valid(s) {
		writeJSONString(b, string(s))
		return
	}
	b.WriteString(`{"base64":"`)
	b.WriteString(base64.StdEncoding.EncodeToString(s))
	b.WriteString(`"}`)
}

// writeJSONString writes s, valid UTF-8, as a JSON string: quote,
// backslash and control characters escaped, everything else as it is
// (no HTML escaping, unlike encoding/json's default).
func writeJSONString(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if c < 0x20 || c == 0x7f {
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}
