package testdaemon

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Info is the text of an INFO reply parsed: its section titles in order
// and its "name:value" fields by name. Tests assert a field's value
// through it rather than searching the text for a fragment, which would
// also match a longer value or the same name in another field.
type Info struct {
	// Sections are the titles of the "# Title" lines, in order.
	Sections []string
	// Fields maps each field's name to its value, whatever its section.
	Fields map[string]string
}

// ParseInfo parses the text of an INFO reply, as Redis lays it out:
// sections separated by an empty line, each a "# Title" line and then
// "name:value" lines, every line ending in CRLF. An empty text is an
// empty reply. It returns an error naming the first line that does not
// fit the layout.
func ParseInfo(text string) (Info, error) {
	info := Info{Fields: map[string]string{}}
	if text == "" {
		return info, nil
	}
	if !strings.HasSuffix(text, "\r\n") {
		return info, fmt.Errorf("INFO does not end with CRLF: %q", text)
	}
	for i, sec := range strings.Split(strings.TrimSuffix(text, "\r\n"), "\r\n\r\n") {
		lines := strings.Split(sec, "\r\n")
		title, ok := strings.CutPrefix(lines[0], "# ")
		if !ok || title == "" {
			return info, fmt.Errorf("INFO section %d starts with %q, not a # title", i, lines[0])
		}
		info.Sections = append(info.Sections, title)
		for _, l := range lines[1:] {
			name, value, ok := strings.Cut(l, ":")
			if !ok || name == "" || strings.ContainsAny(l, "\r\n") {
				return info, fmt.Errorf("INFO section %s: line %q is not name:value", title, l)
			}
			if _, dup := info.Fields[name]; dup {
				return info, fmt.Errorf("INFO field %s appears twice", name)
			}
			info.Fields[name] = value
		}
	}
	return info, nil
}

// HasSection reports whether the reply has a section of that title.
func (in Info) HasSection(title string) bool { return slices.Contains(in.Sections, title) }

// Int returns the field name as an integer, or an error when the field is
// missing or not an integer.
func (in Info) Int(name string) (int64, error) {
	v, ok := in.Fields[name]
	if !ok {
		return 0, fmt.Errorf("INFO has no field %s", name)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("INFO field %s is %q, not an integer", name, v)
	}
	return n, nil
}

// Sub splits the field name, a list such as db0's
// "keys=9,expires=3,avg_ttl=0", into its "key=value" items, or returns an
// error when the field is missing or an item has no '='.
func (in Info) Sub(name string) (map[string]string, error) {
	v, ok := in.Fields[name]
	if !ok {
		return nil, fmt.Errorf("INFO has no field %s", name)
	}
	items := map[string]string{}
	for _, item := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(item, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("INFO field %s: item %q is not key=value", name, item)
		}
		items[k] = val
	}
	return items, nil
}
