// Package plural writes counts the way people read them: "1 segment",
// "2 segments", "0 problems". It knows regular English plurals only; a
// noun that is not regular passes its plural.
package plural

import "strconv"

// Count returns n and noun, plural unless n is 1.
func Count[N ~int | ~int64 | ~uint64](n N, noun string) string {
	return CountAs(n, noun, noun+"s")
}

// CountAs is Count with an irregular plural.
func CountAs[N ~int | ~int64 | ~uint64](n N, one, many string) string {
	s := strconv.FormatInt(int64(n), 10)
	if n == 1 {
		return s + " " + one
	}
	return s + " " + many
}
