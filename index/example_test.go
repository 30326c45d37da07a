package index_test

import (
	"fmt"

	"github.com/pykv/pykv/index"
)

func ExampleKeydir() {
	kd := index.NewKeydir(0)
	kd.Put([]byte("user:1"), index.Entry{FileID: 3, Offset: 4096, Size: 52, Seq: 10})

	// A merge copied the record to file 7, but a SET landed meanwhile (seq 11):
	// the merge's swap fails and the newer write stays.
	kd.Put([]byte("user:1"), index.Entry{FileID: 4, Offset: 0, Size: 52, Seq: 11})
	moved := kd.CompareAndSwap([]byte("user:1"), 10, index.Entry{FileID: 7, Offset: 128, Size: 52, Seq: 10})

	e, _ := kd.Get([]byte("user:1"))
	fmt.Println(moved, e.FileID, e.Seq)
	// Output: false 4 11
}

func ExampleKeydir_Scan() {
	kd := index.NewKeydir(4)
	for i := range 25 {
		kd.Put(fmt.Appendf(nil, "k%02d", i), index.Entry{Seq: uint64(i + 1)})
	}
	n, calls := 0, 0
	for cursor := uint64(0); ; {
		cursor = kd.Scan(cursor, 10, func(key []byte, e index.Entry) { n++ })
		calls++
		if cursor == 0 {
			break
		}
	}
	fmt.Println(n >= 25, calls > 1)
	// Output: true true
}

func ExampleCache() {
	c := index.NewCache(64<<20, 0)
	c.Put([]byte("user:1"), 10, []byte("alice"))

	v, ok := c.Get([]byte("user:1"), 10)
	fmt.Println(string(v), ok)

	// The keydir says the current version is seq 11: the cached copy is stale.
	_, ok = c.Get([]byte("user:1"), 11)
	fmt.Println(ok)
	// Output:
	// alice true
	// false
}
