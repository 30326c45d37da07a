package resp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"runtime"
	"slices"
	"testing"

	"github.com/pykv/pykv/reply"
)

// fuzzLimits are small, so that fuzzing reaches every limit.
var fuzzLimits = Limits{MaxBulk: 1 << 16, MaxArgs: 1 << 10, MaxInline: 1 << 10}

// fuzzBudget is what decoding data may allocate: a constant for the first
// chunk of a bulk string and small change, plus a multiple of the input for
// the growth of the slices that hold what arrived (a reply of "_\r\n" items
// costs a 96-byte reply.Reply for every 3 bytes). What must never happen
// is an allocation sized by a length the input only declares.
func fuzzBudget(data []byte, perByte int) uint64 {
	return 64<<10 + uint64(perByte*len(data))
}

// heapAllocated returns the bytes f allocates. Unlike allocated, it does not
// collect garbage first, which would make each fuzz run slow.
func heapAllocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func addGoldenSeeds(f *testing.F, files []string) {
	for _, file := range files {
		for _, c := range loadGolden(f, file) {
			f.Add(c.in)
		}
	}
}

// checkReadError fails unless err is one a Reader may return on this input.
func checkReadError(t *testing.T, err error) {
	t.Helper()
	var pe *ProtocolError
	if err != io.EOF && err != io.ErrUnexpectedEOF && err != ErrCommandTooLarge && !errors.As(err, &pe) {
		t.Fatalf("unexpected error %T: %v", err, err)
	}
}

// FuzzReadCommand feeds arbitrary bytes to ReadCommand. It must not panic,
// must allocate in proportion to the input, and every command it returns
// must survive encoding as a RESP array and decoding again. The input,
// split at NUL bytes, is also taken as arguments for the same round trip.
func FuzzReadCommand(f *testing.F) {
	addGoldenSeeds(f, commandGoldens)
	f.Fuzz(func(t *testing.T, data []byte) {
		n := heapAllocated(func() {
			r := NewReader(bufio.NewReaderSize(bytes.NewReader(data), 64), fuzzLimits)
			var args [][]byte
			var err error
			for err == nil {
				args, err = r.ReadCommand(args)
			}
		})
		if n > fuzzBudget(data, 64) {
			t.Fatalf("%d bytes allocated for %d bytes of input", n, len(data))
		}

		r := NewReader(bufio.NewReaderSize(bytes.NewReader(data), 64), fuzzLimits)
		for {
			args, err := r.ReadCommand(nil)
			if err != nil {
				checkReadError(t, err)
				break
			}
			if len(args) == 0 {
				t.Fatal("a command without arguments")
			}
			roundTripCommand(t, args)
		}
		if len(data) > 0 && len(data) <= 1<<12 {
			roundTripCommand(t, bytes.Split(data, []byte{0}))
		}
	})
}

func roundTripCommand(t *testing.T, args [][]byte) {
	t.Helper()
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	if err := NewWriter(bw).WriteCommand(args); err != nil {
		t.Fatal(err)
	}
	_ = bw.Flush()
	lim := Limits{MaxBulk: 1 << 20, MaxArgs: 1 << 20}
	got, err := NewReader(bufio.NewReader(&buf), lim).ReadCommand(nil)
	if err != nil {
		t.Fatalf("%q: decoding its encoding: %v", args, err)
	}
	if !slices.EqualFunc(got, args, bytes.Equal) {
		t.Fatalf("round trip changed %q into %q", args, got)
	}
}

// FuzzReadReply feeds arbitrary bytes to ReadReply. It must not panic,
// must allocate in proportion to the input, and each reply must encode (in
// RESP2 and RESP3) to bytes that decode to a reply with the same encoding.
func FuzzReadReply(f *testing.F) {
	addGoldenSeeds(f, replyGoldens)
	f.Fuzz(func(t *testing.T, data []byte) {
		n := heapAllocated(func() {
			r := NewReader(bufio.NewReaderSize(bytes.NewReader(data), 64), fuzzLimits)
			var err error
			for err == nil {
				_, err = r.ReadReply()
			}
		})
		if n > fuzzBudget(data, 256) {
			t.Fatalf("%d bytes allocated for %d bytes of input", n, len(data))
		}

		r := NewReader(bufio.NewReaderSize(bytes.NewReader(data), 64), fuzzLimits)
		for {
			rep, err := r.ReadReply()
			if err != nil {
				checkReadError(t, err)
				break
			}
			for _, proto := range []int{2, 3} {
				roundTripReply(t, proto, rep)
			}
		}
	})
}

func roundTripReply(t *testing.T, proto int, rep reply.Reply) {
	t.Helper()
	first := encodeFuzz(t, proto, rep)
	// An error read from a blob may be longer than MaxInline once written
	// as a simple error line, so the second reading allows for it.
	lim := Limits{MaxBulk: fuzzLimits.MaxBulk, MaxArgs: fuzzLimits.MaxArgs, MaxInline: fuzzLimits.MaxBulk + 8}
	again, err := NewReader(bufio.NewReader(bytes.NewReader(first)), lim).ReadReply()
	if err != nil {
		t.Fatalf("RESP%d %q: decoding its encoding: %v", proto, first, err)
	}
	if second := encodeFuzz(t, proto, again); !bytes.Equal(first, second) {
		t.Fatalf("RESP%d round trip changed %q into %q", proto, first, second)
	}
}

func encodeFuzz(t *testing.T, proto int, rep reply.Reply) []byte {
	t.Helper()
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	w := NewWriter(bw)
	w.SetProto(proto)
	if err := w.WriteReply(rep); err != nil {
		t.Fatalf("WriteReply(%s): %v", render(rep), err)
	}
	_ = bw.Flush()
	return buf.Bytes()
}
