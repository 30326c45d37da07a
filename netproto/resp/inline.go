package resp

import (
	"bytes"
	"math"
)

// splitInline splits an inline request into arguments, appending their bytes
// to r.buf and their bounds to r.offs, by the rules of Redis's sdssplitargs
// that ReadCommand lists, so that what works in redis-cli works here. The
// line holds no NUL byte: inlineLine never returns one that does, and
// SplitArgs cuts its line at the first.
func (r *Reader) splitInline(line []byte) error {
	for p := 0; ; {
		for p < len(line) && isSpace(line[p]) {
			p++
		}
		if p == len(line) {
			return nil
		}
		if len(r.offs)/2 >= r.lim.MaxArgs {
			return protoErr(textTooManyInlineArgs)
		}
		start := len(r.buf)
		var err error
		if p, err = r.inlineArg(line, p); err != nil {
			return err
		}
		r.offs = append(r.offs, start, len(r.buf))
	}
}

// inlineArg appends the argument that starts at line[p] to r.buf and returns
// where the search for the next one starts.
func (r *Reader) inlineArg(line []byte, p int) (int, error) {
	for p < len(line) {
		switch c := line[p]; c {
		case ' ', '\n', '\r', '\t':
			return p + 1, nil
		case '"':
			return r.doubleQuoted(line, p+1)
		case '\'':
			return r.singleQuoted(line, p+1)
		default:
			r.buf = append(r.buf, c)
			p++
		}
	}
	return p, nil
}

// doubleQuoted appends the rest of a "quoted" part, from line[p] just after
// the opening quote, and returns the index after the closing quote.
func (r *Reader) doubleQuoted(line []byte, p int) (int, error) {
	for n := len(line); p < n; {
		c := line[p]
		switch {
		case c == '\\' && p+3 < n && line[p+1] == 'x' && isHex(line[p+2]) && isHex(line[p+3]):
			r.buf = append(r.buf, unhex(line[p+2])<<4|unhex(line[p+3]))
			p += 4
		case c == '\\' && p+1 < n:
			r.buf = append(r.buf, unescape(line[p+1]))
			p += 2
		case c == '"':
			return closeQuote(line, p)
		default:
			r.buf = append(r.buf, c)
			p++
		}
	}
	return 0, protoErr(textUnbalancedQuotes)
}

// singleQuoted is doubleQuoted for a 'quoted' part, where only \' is special.
func (r *Reader) singleQuoted(line []byte, p int) (int, error) {
	for n := len(line); p < n; {
		c := line[p]
		switch {
		case c == '\\' && p+1 < n && line[p+1] == '\'':
			r.buf = append(r.buf, '\'')
			p += 2
		case c == '\'':
			return closeQuote(line, p)
		default:
			r.buf = append(r.buf, c)
			p++
		}
	}
	return 0, protoErr(textUnbalancedQuotes)
}

// closeQuote checks that the closing quote at line[p] ends the argument.
func closeQuote(line []byte, p int) (int, error) {
	if p+1 < len(line) && !isSpace(line[p+1]) {
		return 0, protoErr(textUnbalancedQuotes)
	}
	return p + 1, nil
}

// isSpace is C's isspace in the C locale. Note that an unquoted argument
// ends only at space, \t, \r or \n: "a\vb" is one argument, as in Redis.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// unescape maps the byte after a backslash inside double quotes.
func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'a':
		return '\a'
	}
	return c
}

// SplitArgs splits a command line by the rules inline commands follow
// (Redis's sdssplitargs, which redis-cli also applies to what people type),
// with no limit on the number of arguments. An unterminated quote, or a
// closing quote followed by anything but a space, is an error. A line with
// no arguments gives an empty slice; a NUL byte ends the line, as in C.
func SplitArgs(line string) ([]string, error) {
	r := Reader{lim: Limits{MaxArgs: math.MaxInt}}
	b := []byte(line)
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	if err := r.splitInline(b); err != nil {
		return nil, err
	}
	args := make([]string, 0, len(r.offs)/2)
	for i := 0; i < len(r.offs); i += 2 {
		args = append(args, string(r.buf[r.offs[i]:r.offs[i+1]]))
	}
	return args, nil
}
