package command_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/pykv/pykv/command"
	"github.com/pykv/pykv/storage"
)

// tinyStore is just enough of a Store for the example.
type tinyStore struct {
	command.Store
	m map[string][]byte
}

func (s *tinyStore) Now() time.Time { return time.Now() }

func (s *tinyStore) Get(key []byte) ([]byte, error) {
	if v, ok := s.m[string(key)]; ok {
		return v, nil
	}
	return nil, storage.ErrNotFound
}

func (s *tinyStore) Set(key, value []byte, opt storage.SetOptions) (storage.SetResult, error) {
	_, existed := s.m[string(key)]
	if (opt.NX && existed) || (opt.XX && !existed) {
		return storage.SetResult{Existed: existed}, nil
	}
	s.m[string(key)] = append([]byte(nil), value...)
	return storage.SetResult{Written: true, Existed: existed}, nil
}

// A front end turns each request into an argv, runs it, and encodes the
// Reply; here the "encoding" is redis-cli's rendering.
func ExampleTable_Exec() {
	t := command.New(&tinyStore{m: map[string][]byte{}}, command.Config{Password: "pw"})
	s := t.NewSession()
	for _, line := range []string{
		"GET greeting",
		"AUTH pw",
		"SET greeting hello NX",
		"SET greeting again NX",
		"get greeting",
		"SET greeting hi EX 0",
		"FROB greeting",
	} {
		var argv [][]byte
		for _, f := range strings.Fields(line) {
			argv = append(argv, []byte(f))
		}
		fmt.Println(t.Exec(s, argv))
	}
	// Output:
	// (error) NOAUTH Authentication required.
	// OK
	// OK
	// (nil)
	// "hello"
	// (error) ERR invalid expire time in 'set' command
	// (error) ERR unknown command 'FROB', with args beginning with: 'greeting'
}
