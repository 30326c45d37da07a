package main

import (
	"strconv"
	"strings"

	"github.com/pykv/pykv/internal/redisfmt"
	"github.com/pykv/pykv/reply"
)

// The two ways pykv-cli prints a reply, byte for byte as redis-cli does, so
// that scripts and habits written for redis-cli carry over: the standard
// form for people (types shown, strings quoted and escaped, arrays
// numbered), and the raw form for pipes (bare values, one per line).

// formatStandard renders r as redis-cli's standard (TTY) output, ending in
// a newline.
func formatStandard(r reply.Reply) string {
	var b strings.Builder
	writeStandard(&b, r, "")
	return b.String()
}

// writeStandard is redis-cli's cliFormatReplyTTY. prefix is the
// indentation of the items of a nested array after its first, whose index
// the enclosing array has already written.
func writeStandard(b *strings.Builder, r reply.Reply, prefix string) {
	switch r.Kind {
	case reply.KindOK:
		b.WriteString("OK\n")
	case reply.KindStatus:
		b.Write(r.Bytes)
		b.WriteByte('\n')
	case reply.KindInt:
		b.WriteString("(integer) ")
		b.WriteString(strconv.FormatInt(r.Int, 10))
		b.WriteByte('\n')
	case reply.KindBytes:
		writeQuoted(b, r.Bytes)
		b.WriteByte('\n')
	case reply.KindNil:
		b.WriteString("(nil)\n")
	case reply.KindError:
		b.WriteString("(error) ")
		b.WriteString(errorText(r))
		b.WriteByte('\n')
	case reply.KindArray, reply.KindMap:
		writeAggregate(b, r, prefix)
	default:
		b.WriteString("(unknown reply type " + strconv.Itoa(int(r.Kind)) + ")\n")
	}
}

// writeAggregate writes an array as numbered items ("1) ", right-aligned
// to the widest index) and a map as numbered pairs ("1# key => value"),
// nesting deeper ones by the width of the index plus two.
func writeAggregate(b *strings.Builder, r reply.Reply, prefix string) {
	isMap := r.Kind == reply.KindMap
	if len(r.Array) == 0 {
		if isMap {
			b.WriteString("(empty hash)\n")
		} else {
			b.WriteString("(empty array)\n")
		}
		return
	}
	n := len(r.Array)
	sep := ") "
	if isMap {
		n /= 2
		sep = "# "
	}
	width := len(strconv.Itoa(n))
	inner := prefix + strings.Repeat(" ", width+2)
	for i := 0; i < len(r.Array); i++ {
		idx := i + 1
		if isMap {
			idx = i/2 + 1
		}
		if i > 0 {
			b.WriteString(prefix)
		}
		num := strconv.Itoa(idx)
		b.WriteString(strings.Repeat(" ", width-len(num)))
		b.WriteString(num)
		b.WriteString(sep)
		writeStandard(b, r.Array[i], inner)
		if isMap && i+1 < len(r.Array) {
			i++
			// The key's newline gives way to " => " and the value.
			s := b.String()
			b.Reset()
			b.WriteString(s[:len(s)-1])
			b.WriteString(" => ")
			if multiline(r.Array[i]) {
				b.WriteByte('\n')
				b.WriteString(inner)
			}
			writeStandard(b, r.Array[i], inner)
		}
	}
}

// multiline reports whether the standard form of r takes more than one
// line, so that a map value starts on a line of its own.
func multiline(r reply.Reply) bool {
	switch r.Kind {
	case reply.KindArray:
		return len(r.Array) > 1 || len(r.Array) == 1 && multiline(r.Array[0])
	case reply.KindMap:
		return len(r.Array) > 2 || len(r.Array) == 2 && multiline(r.Array[1])
	}
	return false
}

// writeQuoted writes s in double quotes with redis-cli's escapes (sds's
// sdscatrepr, redisfmt.AppendRepr), so UTF-8 text shows as escapes, as it
// does in redis-cli.
func writeQuoted(b *strings.Builder, s []byte) {
	b.Write(redisfmt.AppendRepr(make([]byte, 0, len(s)+2), s))
}

// errorText is an error reply as Redis sends it: the code, a space, the
// message.
func errorText(r reply.Reply) string {
	if r.Msg == "" {
		return r.Code
	}
	return r.Code + " " + r.Msg
}

// formatRaw renders r as redis-cli's --raw output: values bare, array
// items and map pairs one per line, nil as an empty line, and a newline
// after the reply. An error keeps redis-cli's extra newline (so it is
// followed by an empty line).
func formatRaw(r reply.Reply) string {
	var b strings.Builder
	writeRaw(&b, r)
	b.WriteByte('\n')
	return b.String()
}

// formatVerbatim renders r raw without the final newline: redis-cli's form
// for INFO, whose text ends in its own line break.
func formatVerbatim(r reply.Reply) string {
	var b strings.Builder
	writeRaw(&b, r)
	return b.String()
}

// writeRaw is redis-cli's cliFormatReplyRaw.
func writeRaw(b *strings.Builder, r reply.Reply) {
	switch r.Kind {
	case reply.KindNil:
	case reply.KindOK:
		b.WriteString("OK")
	case reply.KindStatus, reply.KindBytes:
		b.Write(r.Bytes)
	case reply.KindInt:
		b.WriteString(strconv.FormatInt(r.Int, 10))
	case reply.KindError:
		b.WriteString(errorText(r))
		b.WriteByte('\n')
	case reply.KindArray:
		for i, it := range r.Array {
			if i > 0 {
				b.WriteByte('\n')
			}
			writeRaw(b, it)
		}
	case reply.KindMap:
		for i := 0; i+1 < len(r.Array); i += 2 {
			if i > 0 {
				b.WriteByte('\n')
			}
			writeRaw(b, r.Array[i])
			b.WriteByte(' ')
			writeRaw(b, r.Array[i+1])
		}
	}
}
