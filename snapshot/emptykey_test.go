package snapshot

import (
	"bytes"
	"hash/crc32"
	"testing"

	"github.com/pykv/pykv/segment"
)

// TestEmptyKeyInEveryVersion: the empty key, which Redis allows and so
// pykv, fits every index encoding as it stands: version 1's key length
// of 0 followed by the fixed fields, version 2's (and 3's) varint length
// of 0 (an entry of six bytes, the smallest the footer's count check
// allows), a tombstone of it included, and version 3's record of two
// zero lengths. A file of each version holding it opens, verifies, and
// gives the entry and its record back, framed across any read buffer.
func TestEmptyKeyInEveryVersion(t *testing.T) {
	defer func(c int) { indexChunk = c }(indexChunk)
	recs := []segment.Record{
		{Type: segment.TypeSet, Seq: 5, ExpireAt: 1_700_000_000_000, Key: []byte{}, Value: []byte("v")},
		{Type: segment.TypeSet, Seq: 6, Key: []byte("k"), Value: []byte{}},
	}
	// Hand-built version 1 file: records, fixed-width index, footer.
	v1 := appendHeader(nil, Header{Version: VersionNoTombstones, ID: 7, CoveredSeq: 9})
	var index []byte
	for i := range recs {
		off := len(v1)
		v1 = segment.AppendRecord(v1, &recs[i])
		index = appendIndexEntryV1(index, &IndexEntry{Key: recs[i].Key, Offset: uint64(off), Size: uint32(recs[i].EncodedSize()),
			ExpireAt: recs[i].ExpireAt, Seq: recs[i].Seq})
	}
	if n := len(appendIndexEntryV1(nil, &IndexEntry{})); n != indexFixed {
		t.Fatalf("a version 1 entry of the empty key takes %d bytes, want %d", n, indexFixed)
	}
	recsCRC := crc32.Checksum(v1[HeaderSize:], castagnoli)
	indexOff := len(v1)
	v1 = append(v1, index...)
	v1 = appendFooter(v1, Footer{IndexOffset: uint64(indexOff), IndexLen: uint64(len(index)), Count: 2, CoveredSeq: 9,
		IndexCRC: crc32.Checksum(index, castagnoli), RecordsCRC: recsCRC})

	fs := memFS()
	fs.WriteFile("/d/0000000001.snap", v1)
	written := map[uint16]string{}
	for _, version := range []uint16{VersionTombstones, VersionCompact} {
		w, err := createVersion(fs, "/d", uint32(version), 9, version)
		if err != nil {
			t.Fatal(err)
		}
		for i := range recs {
			if _, _, err := w.Add(&recs[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.AddTombstone([]byte{}, 4); err != nil { // an older "" another file holds
			t.Fatal(err)
		}
		if written[version], err = w.Finish(); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(appendIndexEntry(nil, &IndexEntry{Key: []byte{}, Offset: 24, Size: 30, Seq: 5})); n != minIndexEntry {
		t.Fatalf("a version 2 entry of the empty key takes %d bytes, want %d", n, minIndexEntry)
	}
	if n := len(appendRecordV3(nil, 5, 0, []byte{}, []byte{})); n != minRecordV3 {
		t.Fatalf("a version 3 record of the empty key and value takes %d bytes, want %d", n, minRecordV3)
	}

	for _, tc := range []struct {
		path      string
		version   uint16
		entries   int
		tombstone bool
	}{
		{"/d/0000000001.snap", VersionNoTombstones, 2, false},
		{written[VersionTombstones], VersionTombstones, 3, true},
		{written[VersionCompact], VersionCompact, 3, true},
	} {
		for _, chunk := range []int{1, 3, 1 << 20} {
			indexChunk = chunk
			s, err := Open(fs, tc.path)
			if err != nil {
				t.Fatalf("version %d, chunk %d: %v", tc.version, chunk, err)
			}
			if s.Header.Version != tc.version {
				t.Fatalf("%s is version %d, want %d", tc.path, s.Header.Version, tc.version)
			}
			if errs := s.Verify(segment.DefaultLimits()); len(errs) > 0 {
				t.Fatalf("version %d, chunk %d: %v", tc.version, chunk, errs)
			}
			var got []IndexEntry
			if err := s.Index(segment.DefaultMaxKey, func(e IndexEntry) error {
				e.Key = bytes.Clone(e.Key)
				got = append(got, e)
				return nil
			}); err != nil || len(got) != tc.entries {
				t.Fatalf("version %d, chunk %d: %d entries, %v", tc.version, chunk, len(got), err)
			}
			e := got[0]
			if len(e.Key) != 0 || e.Tombstone() || e.Seq != 5 || e.ExpireAt != 1_700_000_000_000 {
				t.Fatalf("version %d: the empty key's entry is %+v", tc.version, e)
			}
			if r, err := s.RecordAt(&e, segment.DefaultLimits()); err != nil || string(r.Value) != "v" || len(r.Key) != 0 {
				t.Fatalf("version %d: the empty key's record %+v, %v", tc.version, r, err)
			}
			if tc.tombstone {
				if tomb := got[2]; len(tomb.Key) != 0 || !tomb.Tombstone() || tomb.Seq != 4 {
					t.Fatalf("the empty key's tombstone is %+v", tomb)
				}
			}
			s.Close()
		}
	}
}
