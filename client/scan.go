package client

import (
	"context"
	"iter"
)

// ScanIterator walks every key matching a pattern with SCAN, one batch per
// round trip:
//
//	it := c.Iterator("user:*", 100)
//	for it.Next(ctx) {
//		fmt.Println(it.Key())
//	}
//	if err := it.Err(); err != nil { ... }
//
// SCAN's guarantees hold: a key that exists for the whole walk is seen at
// least once, and possibly more than once. A ScanIterator is not safe for
// concurrent use.
type ScanIterator struct {
	c      *Client
	match  string
	count  int64
	cursor uint64
	keys   []string
	key    string
	done   bool // the server returned cursor 0
	err    error
}

// Iterator returns a ScanIterator over the keys matching the glob pattern
// match (empty matches all), asking for about count keys per round trip
// (0: the server's default).
func (c *Client) Iterator(match string, count int64) *ScanIterator {
	return &ScanIterator{c: c, match: match, count: count}
}

// Next advances to the next key, fetching a batch when the last one is
// used up. It returns false at the end of the keys or on an error; Err
// tells which.
func (it *ScanIterator) Next(ctx context.Context) bool {
	for len(it.keys) == 0 {
		if it.done || it.err != nil {
			return false
		}
		var page ScanPage
		page, it.err = it.c.Scan(ctx, it.cursor, it.match, it.count).Result()
		it.keys, it.cursor = page.Keys, page.Cursor
		if it.err != nil {
			it.keys = nil
			return false
		}
		it.done = it.cursor == 0
	}
	it.key = it.keys[0]
	it.keys = it.keys[1:]
	return true
}

// Key returns the key Next advanced to.
func (it *ScanIterator) Key() string { return it.key }

// Err returns the error that stopped the iteration, nil at its end.
func (it *ScanIterator) Err() error { return it.err }

// All returns the keys matching match as a sequence for a range loop; an
// error ends the sequence, paired with "" (which is also a key the
// sequence may yield, the empty key: check the error first):
//
//	for key, err := range c.All(ctx, "session:*", 0) {
//		if err != nil { return err }
//		...
//	}
func (c *Client) All(ctx context.Context, match string, count int64) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		it := c.Iterator(match, count)
		for it.Next(ctx) {
			if !yield(it.Key(), nil) {
				return
			}
		}
		if err := it.Err(); err != nil {
			yield("", err)
		}
	}
}
