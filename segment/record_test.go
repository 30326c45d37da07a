package segment

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"runtime"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		rec  Record
	}{
		{"set", Record{Type: TypeSet, Seq: 1, Key: []byte("k"), Value: []byte("v")}},
		{"set with expiry", Record{Type: TypeSet, Seq: 1 << 40, ExpireAt: 1700000000123, Key: []byte("key"), Value: []byte("value")}},
		{"empty value", Record{Type: TypeSet, Seq: 7, Key: []byte("k"), Value: []byte{}}},
		{"empty key", Record{Type: TypeSet, Seq: 8, ExpireAt: 1700000000123, Key: []byte{}, Value: []byte("v")}},
		{"empty key and value", Record{Type: TypeSet, Seq: 8, Key: []byte{}, Value: []byte{}}},
		{"delete", Record{Type: TypeDel, Seq: 9, Key: []byte("gone")}},
		{"delete of the empty key", Record{Type: TypeDel, Seq: 10, Key: []byte{}}},
		{"batch member", Record{Type: TypeSet, Seq: 3, Key: []byte("a"), Value: []byte("1"), More: true}},
		{"binary", Record{Type: TypeSet, Seq: 5, Key: []byte{0, 1, 2}, Value: bytes.Repeat([]byte{0xff}, 1000)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := AppendRecord([]byte("prefix"), &tt.rec)
			if len(buf)-6 != tt.rec.EncodedSize() {
				t.Fatalf("encoded %d bytes, EncodedSize says %d", len(buf)-6, tt.rec.EncodedSize())
			}
			got, n, err := DecodeRecord(buf[6:], DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.rec.EncodedSize() {
				t.Fatalf("decoded size %d, want %d", n, tt.rec.EncodedSize())
			}
			if got.Type != tt.rec.Type || got.Seq != tt.rec.Seq || got.ExpireAt != tt.rec.ExpireAt ||
				got.More != tt.rec.More || !bytes.Equal(got.Key, tt.rec.Key) || !bytes.Equal(got.Value, tt.rec.Value) {
				t.Fatalf("got %+v, want %+v", got, tt.rec)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	good := AppendRecord(nil, &Record{Type: TypeSet, Seq: 1, Key: []byte("key"), Value: []byte("value")})
	mutate := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	recrc := func(b []byte) { binary.LittleEndian.PutUint32(b, crc32.Checksum(b[4:], castagnoli)) }
	tests := []struct {
		name string
		buf  []byte
		lim  Limits
		want error
	}{
		{"short header", good[:10], Limits{}, ErrShort},
		{"short body", good[:len(good)-1], Limits{}, ErrShort},
		{"bit flip in value", mutate(func(b []byte) { b[len(b)-1] ^= 1 }), Limits{}, ErrChecksum},
		{"bit flip in seq", mutate(func(b []byte) { b[10] ^= 0x10 }), Limits{}, ErrChecksum},
		{"length below fixed part", mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[4:], 3) }), Limits{}, ErrBadLength},
		{"length 4 GiB", mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[4:], 0xffffffff) }), Limits{}, ErrBadLength},
		{"key over limit", good, Limits{MaxKey: 2}, ErrBadLength},
		{"value over limit", good, Limits{MaxKey: 10, MaxValue: 4}, ErrBadLength},
		{"keylen past record", mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[25:], 100); recrc(b) }), Limits{}, ErrBadLength},
		{"unknown type", mutate(func(b []byte) { b[8] = 9; recrc(b) }), Limits{}, ErrBadType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := DecodeRecord(tt.buf, tt.lim)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestHostileLengthNotAllocated: a header claiming 4 GiB is rejected
// without allocating it, whether or not the limits would allow it.
func TestHostileLengthNotAllocated(t *testing.T) {
	b := make([]byte, RecordHeaderSize)
	binary.LittleEndian.PutUint32(b[4:], 0xffffffff)
	huge := Limits{MaxKey: 1 << 30, MaxValue: 1 << 31}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for _, lim := range []Limits{{}, huge} {
		if _, _, err := DecodeRecord(b, lim); err == nil {
			t.Fatal("4 GiB record accepted")
		}
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("decoding a hostile header allocated %d bytes", grew)
	}
}

func TestHeaderRoundTripAndVersions(t *testing.T) {
	h := Header{Version: Version, ID: 42, FirstSeq: 1234}
	got, err := DecodeHeader(AppendHeader(nil, h))
	if err != nil || got != h {
		t.Fatalf("got %+v, %v", got, err)
	}
	newer := AppendHeader(nil, Header{Version: Version + 1, ID: 1})
	if _, err := DecodeHeader(newer); !errors.Is(err, ErrNewerVersion) {
		t.Fatalf("newer version: %v", err)
	}
	bad := AppendHeader(nil, h)
	bad[0] = 'X'
	if _, err := DecodeHeader(bad); !errors.Is(err, ErrBadHeader) {
		t.Fatalf("bad magic: %v", err)
	}
}

func TestFileNames(t *testing.T) {
	for _, id := range []uint32{0, 1, 42, 1<<32 - 1} {
		got, ok := ParseFileName(FileName(id))
		if !ok || got != id {
			t.Fatalf("id %d: parsed %d %v", id, got, ok)
		}
	}
	for _, bad := range []string{"1.log", "000000000x.log", "0000000001.snap", "LOCK"} {
		if _, ok := ParseFileName(bad); ok {
			t.Fatalf("%q parsed as a segment", bad)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(AppendRecord(nil, &Record{Type: TypeSet, Seq: 1, Key: []byte("k"), Value: []byte("v")}))
	f.Add(AppendRecord(nil, &Record{Type: TypeDel, Seq: 2, Key: []byte("key")}))
	f.Add(make([]byte, RecordHeaderSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := Limits{MaxKey: 1 << 10, MaxValue: 1 << 16}
		r, n, err := DecodeRecord(b, lim)
		if err != nil {
			return
		}
		if n > len(b) || n != r.EncodedSize() {
			t.Fatalf("size %d, buffer %d, EncodedSize %d", n, len(b), r.EncodedSize())
		}
		if len(r.Key) > lim.MaxKey || len(r.Value) > lim.MaxValue {
			t.Fatal("limits not enforced")
		}
		again := AppendRecord(nil, &r)
		if !bytes.Equal(again, b[:n]) {
			t.Fatalf("re-encoding differs:\n%x\n%x", again, b[:n])
		}
	})
}
