package emitter

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// fuzzSeeds returns spool bytes worth mutating: valid records, a torn one,
// a flipped bit and zero fill.
func fuzzSeeds() [][]byte {
	var good []byte
	for _, r := range testRecords(0, 3) {
		good = appendRecord(good, &r)
	}
	torn := bytes.Clone(good[:len(good)-5])
	flipped := bytes.Clone(good)
	flipped[recordHeaderSize+2] ^= 1
	return [][]byte{nil, good, torn, flipped, make([]byte, 64), append(bytes.Clone(good), 0xff, 0xff, 0xff, 0xff)}
}

func FuzzDecodeRecord(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, ok := decodeRecord(b)
		if !ok {
			return
		}
		if n > len(b) {
			t.Fatalf("unexpected length; got %d; want at most %d", n, len(b))
		}
		if enc := appendRecord(nil, &r); !bytes.Equal(enc, b[:n]) {
			t.Fatalf("unexpected re-encoding; got %x; want %x", enc, b[:n])
		}
	})
}

func FuzzScanRecords(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		last := -1
		_, end, corrupt := scanRecords(b, func(off int, r spoolRecord) bool {
			if off <= last {
				t.Fatalf("unexpected offset order; got %d after %d", off, last)
			}
			last = off
			enc := appendRecord(nil, &r)
			if !bytes.Equal(enc, b[off:off+len(enc)]) {
				t.Fatalf("unexpected record at %d; got %x", off, enc)
			}
			return true
		})
		if end > len(b) || corrupt < 0 || corrupt > len(b) {
			t.Fatalf("unexpected scan result; got end %d, corrupt %d for %d bytes", end, corrupt, len(b))
		}
	})
}

// FuzzSpoolSegment opens a spool whose only segment holds arbitrary bytes,
// as a crash or a bad disk could leave it, and replays it. It must never
// panic, and replay after the torn-tail truncation must see only valid
// records.
func FuzzSpoolSegment(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		seg := filepath.Join(dir, "00000000000000000001"+segmentSuffix)
		if err := os.WriteFile(seg, append([]byte(segmentMagic), b...), 0o644); err != nil {
			t.Fatalf("cannot write segment: %s", err)
		}
		cfg := testSpoolConfig(dir)
		sp, _, err := openSpool(cfg, true)
		if err != nil {
			t.Fatalf("cannot open spool: %s", err)
		}
		defer sp.close()
		var want int
		scanRecords(b, func(int, spoolRecord) bool { want++; return true })
		got, _ := readAll(t, sp)
		if len(got) != want {
			t.Fatalf("unexpected replayed count; got %d; want %d", len(got), want)
		}
	})
}
