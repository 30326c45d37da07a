// Package kvjson is pykv's interchange format for whole datasets: one
// JSON object per line (NDJSON), one line per key. EXPORT and GET
// /v1/export write it, pykv-cli --import reads it. It is never storage:
// a line holds a key's value and absolute expiry, nothing of seqs or
// files.
//
//	{"key":"greeting","value":"hello"}
//	{"key":"session:42","value":"{\"user\":7}","expire_at_ms":1767225600000}
//	{"key_base64":"/wA=","value_base64":"AAEC"}
//
// The fields (docs/format.md, "Export lines"):
//
//   - "key" and "value" are JSON strings, used when the bytes are valid
//     UTF-8; "key_base64" and "value_base64" (standard base64, with
//     padding) are used instead when they are not. A line has exactly one
//     of each pair.
//   - "expire_at_ms" is the key's expiry as a unix time in milliseconds,
//     an integer; omitted, or 0, for a key without one.
//
// No other field is allowed, so that a typo ("expires_at_ms") is an
// error rather than a key imported without its expiry. Lines that are
// empty or hold only white space are skipped by readers.
package kvjson

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Line is one key of a dataset.
type Line struct {
	Key, Value []byte
	// ExpireAtMs is the absolute expiry in unix milliseconds; 0 is none.
	ExpireAtMs int64
}

// The field names of a line.
const (
	FieldKey         = "key"
	FieldKeyBase64   = "key_base64"
	FieldValue       = "value"
	FieldValueBase64 = "value_base64"
	FieldExpireAtMs  = "expire_at_ms"
)

// ContentType is the media type of a stream of lines.
const ContentType = "application/x-ndjson"

// AppendLine appends the line of key, value and expireAtMs (0: no
// expiry), ending in '\n', to dst.
func AppendLine(dst []byte, key, value []byte, expireAtMs int64) []byte {
	dst = append(dst, '{')
	dst = appendField(dst, FieldKey, FieldKeyBase64, key)
	dst = append(dst, ',')
	dst = appendField(dst, FieldValue, FieldValueBase64, value)
	if expireAtMs != 0 {
		dst = append(dst, `,"`+FieldExpireAtMs+`":`...)
		dst = strconv.AppendInt(dst, expireAtMs, 10)
	}
	return append(dst, '}', '\n')
}

// appendField appends "name":"b" when b is valid UTF-8, else
// "name64":"base64 of b".
func appendField(dst []byte, name, name64 string, b []byte) []byte {
	if !utf8.Valid(b) {
		dst = append(dst, '"')
		dst = append(dst, name64...)
		dst = append(dst, `":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, b)
		return append(dst, '"')
	}
	dst = append(dst, '"')
	dst = append(dst, name...)
	dst = append(dst, `":`...)
	return appendString(dst, b)
}

const hexDigits = "0123456789abcdef"

// appendString appends b, valid UTF-8, as a JSON string: quotes, the
// backslash and control characters escaped, everything else as it is.
func appendString(dst, b []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, b[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, b[start:]...)
	return append(dst, '"')
}

// wire is a line as encoding/json reads it; nil marks an absent field.
type wire struct {
	Key         *string          `json:"key"`
	KeyBase64   *string          `json:"key_base64"`
	Value       *string          `json:"value"`
	ValueBase64 *string          `json:"value_base64"`
	ExpireAtMs  *json.RawMessage `json:"expire_at_ms"`
}

// ErrBlank is returned by DecodeLine for a line of nothing but white
// space, which readers skip.
var ErrBlank = errors.New("pykv/kvjson: blank line")

// DecodeLine decodes one line, with or without its '\n'. Its error says
// what is wrong with the line; the caller adds where the line is.
func DecodeLine(b []byte) (Line, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return Line{}, ErrBlank
	}
	if !utf8.Valid(b) {
		return Line{}, errors.New("the line is not valid UTF-8 (bytes that are not go in key_base64 or value_base64)")
	}
	var w wire
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&w); err != nil {
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return Line{}, fmt.Errorf("unknown field %s: a line has %s or %s, %s or %s, and %s", field,
				FieldKey, FieldKeyBase64, FieldValue, FieldValueBase64, FieldExpireAtMs)
		}
		return Line{}, fmt.Errorf("not a JSON object of %s, %s and %s: %w", FieldKey, FieldValue, FieldExpireAtMs, err)
	}
	if d.More() || d.InputOffset() != int64(len(b)) {
		return Line{}, errors.New("more after the JSON object: one object per line")
	}
	var l Line
	var err error
	if l.Key, err = field(FieldKey, FieldKeyBase64, w.Key, w.KeyBase64); err != nil {
		return Line{}, err
	}
	if l.Value, err = field(FieldValue, FieldValueBase64, w.Value, w.ValueBase64); err != nil {
		return Line{}, err
	}
	if w.ExpireAtMs != nil {
		l.ExpireAtMs, err = strconv.ParseInt(string(*w.ExpireAtMs), 10, 64)
		if err != nil || l.ExpireAtMs < 0 {
			return Line{}, fmt.Errorf("%s is %s, want an integer from 0 (no expiry) to %d", FieldExpireAtMs, *w.ExpireAtMs, int64(1<<63-1))
		}
	}
	return l, nil
}

// field returns the bytes of the one of text and b64 that is present.
func field(name, name64 string, text, b64 *string) ([]byte, error) {
	switch {
	case text != nil && b64 != nil:
		return nil, fmt.Errorf("both %s and %s: give one", name, name64)
	case text != nil:
		return []byte(*text), nil
	case b64 != nil:
		b, err := base64.StdEncoding.Strict().DecodeString(*b64)
		if err != nil {
			return nil, fmt.Errorf("%s is not standard base64 with padding: %w", name64, err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("no %s (or %s)", name, name64)
}
