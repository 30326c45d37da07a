package main

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"

	"github.com/pykv/pykv/netproto"
	"github.com/pykv/pykv/netproto/resp"
)

// Keys are redis-benchmark's: a prefix and a zero-padded decimal number of
// keyDigits digits, key:000000000123. The fixed width lets a request be
// encoded once and its key rewritten in place: no length in the frame
// changes.
const (
	keyDigits     = 12
	keyPrefix     = "key:"
	counterPrefix = "counter:" // INCR's keys, apart from SET's values, which are not integers
	mgetKeys      = 10         // keys per MGET, as redis-benchmark's MSET
)

// keyPlaceholder is the key written into a request when it is encoded; its
// digits are found afterwards and overwritten for every request sent.
var keyPlaceholder = bytes.Repeat([]byte{'0'}, keyDigits)

// putKey writes n as keyDigits decimal digits, zero-padded, into dst.
func putKey(dst []byte, n uint64) {
	for i := keyDigits - 1; i >= 0; i-- {
		dst[i] = byte('0' + n%10)
		n /= 10
	}
}

// formatKey returns the key numbered n with prefix, as the server sees it.
func formatKey(prefix string, n uint64) string {
	b := make([]byte, len(prefix)+keyDigits)
	copy(b, prefix)
	putKey(b[len(prefix):], n)
	return string(b)
}

// request is one encoded request and the offsets of its keys' digits.
type request struct {
	wire    []byte
	keyOffs []int
}

// workload is what one test sends: a cycle of encoded requests (the mixed
// test alternates SETs and GETs by its ratio; the others repeat one).
type workload struct {
	test   string // the -t name, or "preload"
	name   string // as in the summary line: "SET", "MGET (10 keys)"
	reqs   []request
	cycle  []uint8 // indices into reqs, sent in this order, round and round
	maxLen int     // the longest request, to size a batch buffer once
	seq    bool    // keys in order from the batch's start (preload), not random
}

// newWorkload encodes the requests of test t for protocol proto.
func newWorkload(t Test, cfg Config) (*workload, error) {
	value := bytes.Repeat([]byte{'x'}, cfg.DataSize)
	key := func(prefix string) []byte { return append([]byte(prefix), keyPlaceholder...) }
	set := [][]byte{[]byte("SET"), key(keyPrefix), value}
	get := [][]byte{[]byte("GET"), key(keyPrefix)}
	wl := &workload{test: t.String()}
	var argvs [][][]byte
	switch t {
	case TestSet:
		wl.name, argvs = "SET", [][][]byte{set}
	case TestGet:
		wl.name, argvs = "GET", [][][]byte{get}
	case TestIncr:
		wl.name, argvs = "INCR", [][][]byte{{[]byte("INCR"), key(counterPrefix)}}
	case TestMGet:
		mget := [][]byte{[]byte("MGET")}
		for range mgetKeys {
			mget = append(mget, key(keyPrefix))
		}
		wl.name, argvs = fmt.Sprintf("MGET (%d keys)", mgetKeys), [][][]byte{mget}
	case TestMixed:
		wl.name = fmt.Sprintf("MIXED (SET:GET %d:%d)", cfg.SetRatio, cfg.GetRatio)
		argvs = [][][]byte{set, get}
		for range cfg.SetRatio {
			wl.cycle = append(wl.cycle, 0)
		}
		for range cfg.GetRatio {
			wl.cycle = append(wl.cycle, 1)
		}
	default:
		return nil, fmt.Errorf("unknown test %d", t)
	}
	if wl.cycle == nil {
		wl.cycle = []uint8{0}
	}
	for _, argv := range argvs {
		r, err := encodeRequest(cfg.Protocol, argv)
		if err != nil {
			return nil, err
		}
		wl.reqs = append(wl.reqs, r)
		wl.maxLen = max(wl.maxLen, len(r.wire))
	}
	return wl, nil
}

// preloadWorkload writes keys in order: SET key:000000000000 and on.
func preloadWorkload(cfg Config) (*workload, error) {
	wl, err := newWorkload(TestSet, cfg)
	if err != nil {
		return nil, err
	}
	wl.test, wl.name, wl.seq = "preload", "PRELOAD (SET "+keyPrefix+"0.."+strconv.FormatInt(cfg.Preload-1, 10)+")", true
	return wl, nil
}

// encodeRequest encodes argv with the protocol's own codec and finds the
// placeholder digits of every key in the bytes.
func encodeRequest(proto string, argv [][]byte) (request, error) {
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	var err error
	if proto == protoNative {
		err = netproto.NewWriter(bw).WriteRequest(argv)
	} else {
		err = resp.NewWriter(bw).WriteCommand(argv)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return request{}, fmt.Errorf("encode %s: %w", argv[0], err)
	}
	r := request{wire: buf.Bytes()}
	// Each key arg is a prefix and the placeholder; the value is all 'x',
	// so the only runs of keyDigits zeros after a key prefix are the keys.
	for _, a := range argv[1:] {
		if !bytes.HasSuffix(a, keyPlaceholder) {
			continue
		}
		from := 0
		if len(r.keyOffs) > 0 {
			from = r.keyOffs[len(r.keyOffs)-1] + keyDigits
		}
		i := bytes.Index(r.wire[from:], a)
		if i < 0 {
			return request{}, fmt.Errorf("encode %s: key %q not found in the encoded request", argv[0], a)
		}
		r.keyOffs = append(r.keyOffs, from+i+len(a)-keyDigits)
	}
	return r, nil
}
