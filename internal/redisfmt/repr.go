package redisfmt

// AppendRepr appends s to b quoted as Redis's sdscatrepr quotes it, the
// form of MONITOR's lines and of redis-cli's output: in double quotes,
// backslash escapes for \\ \" \n \r \t \a \b, printable ASCII as it is and
// any other byte as \xHH (so UTF-8 text shows as escapes).
func AppendRepr(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for len(s) > 0 {
		// A run of bytes printed as they are is appended at once.
		i := 0
		for i < len(s) && plain[s[i]] {
			i++
		}
		b = append(b, s[:i]...)
		if i == len(s) {
			break
		}
		c := s[i]
		s = s[i+1:]
		switch c {
		case '\\', '"':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\a':
			b = append(b, '\\', 'a')
		case '\b':
			b = append(b, '\\', 'b')
		default:
			if c >= ' ' && c <= '~' {
				b = append(b, c)
			} else {
				b = append(b, '\\', 'x', hex[c>>4], hex[c&15])
			}
		}
	}
	return append(b, '"')
}

// plain marks the bytes AppendRepr copies as they are: the printable ASCII
// but the backslash and the double quote.
var plain = func() (t [256]bool) {
	for c := ' '; c <= '~'; c++ {
		t[c] = c != '\\' && c != '"'
	}
	return t
}()
