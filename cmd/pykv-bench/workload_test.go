package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/pykv/pykv/netproto"
	"github.com/pykv/pykv/netproto/resp"
)

func TestKeys(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		want string
	}{
		{0, "key:000000000000"},
		{123, "key:000000000123"},
		{99999, "key:000000099999"},
		{maxKeyspace - 1, "key:999999999999"},
	} {
		if got := formatKey(keyPrefix, tc.n); got != tc.want {
			t.Errorf("formatKey(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	if got := formatKey(counterPrefix, 7); got != "counter:000000000007" {
		t.Errorf("counter key = %q", got)
	}
}

// decodeBatch reads a worker's batch back with the server's own codec.
func decodeBatch(t *testing.T, proto string, batch []byte) [][]string {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(batch))
	var out [][]string
	var argv [][]byte
	var err error
	nr, rr := netproto.NewReader(br, netproto.Limits{}), resp.NewReader(br, resp.Limits{})
	for {
		if proto == protoNative {
			argv, err = nr.ReadRequest(argv[:0])
		} else {
			argv, err = rr.ReadCommand(argv[:0])
		}
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%s batch does not decode: %v", proto, err)
		}
		var s []string
		for _, a := range argv {
			s = append(s, string(a))
		}
		out = append(out, s)
	}
}

// TestBatchesDecode checks that the requests rewritten in place are the
// ones the server's decoder reads: the right command, the keys in range,
// a value of -d bytes.
func TestBatchesDecode(t *testing.T) {
	for _, proto := range []string{protoNative, protoRESP} {
		for _, test := range []Test{TestSet, TestGet, TestIncr, TestMGet, TestMixed} {
			t.Run(proto+"/"+test.String(), func(t *testing.T) {
				cfg := Config{Protocol: proto, DataSize: 7, Keyspace: 50, SetRatio: 1, GetRatio: 2}
				wl, err := newWorkload(test, cfg)
				if err != nil {
					t.Fatal(err)
				}
				w := newWorker(nil, wl, cfg, 6, 1)
				seen := map[string]bool{}
				for range 200 {
					w.fill(6, 0)
					reqs := decodeBatch(t, proto, w.batch)
					if len(reqs) != 6 {
						t.Fatalf("%d requests in a batch of 6", len(reqs))
					}
					for i, argv := range reqs {
						checkRequest(t, test, cfg, i, argv, seen)
					}
				}
				if len(seen) < 40 {
					t.Errorf("only %d distinct keys of 50 in 1200 requests: keys are not random", len(seen))
				}
			})
		}
	}
}

func checkRequest(t *testing.T, test Test, cfg Config, i int, argv []string, seen map[string]bool) {
	t.Helper()
	want := map[Test]string{TestSet: "SET", TestGet: "GET", TestIncr: "INCR", TestMGet: "MGET"}[test]
	if test == TestMixed {
		want = []string{"SET", "GET", "GET"}[i%3] // ratio 1:2, batches of 6
	}
	if !strings.EqualFold(argv[0], want) {
		t.Fatalf("request %d is %q, want %s", i, argv, want)
	}
	prefix, nkeys := keyPrefix, 1
	switch want {
	case "INCR":
		prefix = counterPrefix
	case "MGET":
		nkeys = mgetKeys
	}
	if len(argv) != 1+nkeys && !(want == "SET" && len(argv) == 3) {
		t.Fatalf("request %q has %d args", argv, len(argv))
	}
	for _, k := range argv[1 : 1+nkeys] {
		var n uint64
		if _, err := fmt.Sscanf(k, prefix+"%d", &n); err != nil || len(k) != len(prefix)+keyDigits || n >= cfg.Keyspace {
			t.Fatalf("key %q out of the keyspace of %d", k, cfg.Keyspace)
		}
		seen[k] = true
	}
	if want == "SET" && argv[2] != strings.Repeat("x", cfg.DataSize) {
		t.Fatalf("SET value %q, want %d bytes", argv[2], cfg.DataSize)
	}
}

func TestPreloadKeysAreSequential(t *testing.T) {
	for _, proto := range []string{protoNative, protoRESP} {
		cfg := Config{Protocol: proto, DataSize: 3, Keyspace: 10, Preload: 1000}
		wl, err := preloadWorkload(cfg)
		if err != nil {
			t.Fatal(err)
		}
		w := newWorker(nil, wl, cfg, 4, 1)
		w.fill(4, 996)
		reqs := decodeBatch(t, proto, w.batch)
		for i, argv := range reqs {
			if want := formatKey(keyPrefix, uint64(996+i)); argv[1] != want {
				t.Errorf("%s: preload key %d = %q, want %q", proto, i, argv[1], want)
			}
		}
	}
}

func TestBudget(t *testing.T) {
	b := countBudget(10)
	var got [][2]int64
	for {
		first, n := b.claim(4, timeZero)
		if n == 0 {
			break
		}
		got = append(got, [2]int64{first, int64(n)})
	}
	want := [][2]int64{{0, 4}, {4, 4}, {8, 2}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("claims = %v, want %v", got, want)
	}
}

var timeZero = time.Time{}
