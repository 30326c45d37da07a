package main

import (
	"errors"
	"strings"
)

// errUnbalanced is splitArgs's error for a line with an unterminated
// quote, or a closing quote followed by something other than a space.
var errUnbalanced = errors.New("unbalanced quotes")

// splitArgs splits a command line into arguments with redis-cli's rules
// (sds's sdssplitargs), so that lines written for redis-cli mean the same
// here:
//
//   - arguments are separated by spaces, tabs and line breaks;
//   - "double quotes" take the escapes \n \r \t \b \a \xHH and \ before
//     any other character, which stands for itself;
//   - 'single quotes' take only \' ; everything else is literal;
//   - a quote may start in the middle of a word (foo"bar baz" is one
//     argument), but a closing quote must end the argument.
//
// A line with no arguments gives an empty slice. As in C, a NUL byte ends
// the line.
func splitArgs(line string) ([]string, error) {
	if k := strings.IndexByte(line, 0); k >= 0 {
		line = line[:k]
	}
	var args []string
	i, n := 0, len(line)
	for {
		for i < n && isSpace(line[i]) {
			i++
		}
		if i >= n {
			return args, nil
		}
		var cur []byte
		inDouble, inSingle := false, false
		for done := false; !done; {
			var c byte // 0: the end of the line
			if i < n {
				c = line[i]
			}
			switch {
			case inDouble:
				switch {
				case c == '\\' && i+3 < n && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]):
					cur = append(cur, unhex(line[i+2])<<4|unhex(line[i+3]))
					i += 3
				case c == '\\' && i+1 < n:
					i++
					switch e := line[i]; e {
					case 'n':
						cur = append(cur, '\n')
					case 'r':
						cur = append(cur, '\r')
					case 't':
						cur = append(cur, '\t')
					case 'b':
						cur = append(cur, '\b')
					case 'a':
						cur = append(cur, '\a')
					default:
						cur = append(cur, e)
					}
				case c == '"':
					if i+1 < n && !isSpace(line[i+1]) {
						return nil, errUnbalanced
					}
					done = true
				case i >= n:
					return nil, errUnbalanced
				default:
					cur = append(cur, c)
				}
			case inSingle:
				switch {
				case c == '\\' && i+1 < n && line[i+1] == '\'':
					i++
					cur = append(cur, '\'')
				case c == '\'':
					if i+1 < n && !isSpace(line[i+1]) {
						return nil, errUnbalanced
					}
					done = true
				case i >= n:
					return nil, errUnbalanced
				default:
					cur = append(cur, c)
				}
			default:
				switch c {
				case ' ', '\n', '\r', '\t', 0:
					done = true
				case '"':
					inDouble = true
				case '\'':
					inSingle = true
				default:
					cur = append(cur, c)
				}
			}
			if i < n {
				i++
			}
		}
		args = append(args, string(cur))
	}
}

// isSpace is C's isspace in the C locale.
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
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
