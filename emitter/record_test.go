package emitter

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name       string
		ts         int64
		key, value string
	}{
		{"empty", 0, "", ""},
		{"key only", 1, "k", ""},
		{"value only", -1, "", "v"},
		{"click", 1700000000123, "42:7", `{"v":1,"id":"abc"}`},
		{"binary", 9, "\x00\xff", "\x00\x00\x00\x00\x01"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := spoolRecord{TS: tc.ts, Key: []byte(tc.key), Value: []byte(tc.value)}
			b := appendRecord([]byte("prefix"), &in)[len("prefix"):]
			if len(b) != in.encodedSize() {
				t.Fatalf("unexpected encoded size; got %d; want %d", len(b), in.encodedSize())
			}
			out, n, ok := decodeRecord(append(b, "trailing"...))
			if !ok {
				t.Fatalf("unexpected decode failure of %q", b)
			}
			if n != len(b) {
				t.Fatalf("unexpected length; got %d; want %d", n, len(b))
			}
			if out.TS != tc.ts {
				t.Fatalf("unexpected ts; got %d; want %d", out.TS, tc.ts)
			}
			if string(out.Key) != tc.key {
				t.Fatalf("unexpected key; got %q; want %q", out.Key, tc.key)
			}
			if string(out.Value) != tc.value {
				t.Fatalf("unexpected value; got %q; want %q", out.Value, tc.value)
			}
		})
	}
}

func TestDecodeRecordRejectsDamage(t *testing.T) {
	good := appendRecord(nil, &spoolRecord{TS: 5, Key: []byte("key"), Value: []byte("value")})
	mutate := func(f func(b []byte) []byte) []byte {
		return f(bytes.Clone(good))
	}
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"header only", good[:recordHeaderSize]},
		{"torn", good[:len(good)-1]},
		{"zeros", make([]byte, 64)},
		{"flipped size", mutate(func(b []byte) []byte { b[0] ^= 1; return b })},
		{"flipped crc", mutate(func(b []byte) []byte { b[5] ^= 1; return b })},
		{"flipped ts", mutate(func(b []byte) []byte { b[9] ^= 1; return b })},
		{"flipped value", mutate(func(b []byte) []byte { b[len(b)-1] ^= 1; return b })},
		{"size too small", mutate(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b, recordFixedBody-1)
			return b
		})},
		{"size too large", mutate(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b, maxRecordBody+1)
			return b
		})},
		{"key longer than record", mutate(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[16:], 100)
			binary.LittleEndian.PutUint32(b[4:], recordChecksum(b))
			return b
		})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r, n, ok := decodeRecord(tc.b); ok {
				t.Fatalf("unexpected success; got record %+v of %d bytes; want failure", r, n)
			}
		})
	}
}

func TestScanRecordsSkipsDamage(t *testing.T) {
	var b []byte
	var offs []int
	for i := 0; i < 5; i++ {
		offs = append(offs, len(b))
		b = appendRecord(b, &spoolRecord{TS: int64(i), Key: []byte{'k', byte('0' + i)}, Value: []byte("value")})
	}
	clean := len(b)
	tests := []struct {
		name        string
		damage      func(b []byte) []byte
		wantTS      []int64
		wantCorrupt int
		wantEnd     int
	}{
		{"intact", func(b []byte) []byte { return b }, []int64{0, 1, 2, 3, 4}, 0, clean},
		{"middle record flipped", func(b []byte) []byte { b[offs[2]+recordHeaderSize] ^= 0x40; return b }, []int64{0, 1, 3, 4}, 1, clean},
		{"first record size broken", func(b []byte) []byte { b[0] = 0xff; b[3] = 0xff; return b }, []int64{1, 2, 3, 4}, 1, clean},
		{"torn tail", func(b []byte) []byte { return b[:clean-3] }, []int64{0, 1, 2, 3}, 1, offs[4]},
		{"zero tail", func(b []byte) []byte { return append(b, make([]byte, 100)...) }, []int64{0, 1, 2, 3, 4}, 1, clean},
		{"two damaged regions", func(b []byte) []byte {
			b[offs[1]+8] ^= 1
			b[offs[3]+8] ^= 1
			return b
		}, []int64{0, 2, 4}, 2, clean},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.damage(bytes.Clone(b))
			var got []int64
			_, end, corrupt := scanRecords(data, func(_ int, r spoolRecord) bool {
				got = append(got, r.TS)
				return true
			})
			if len(got) != len(tc.wantTS) {
				t.Fatalf("unexpected records; got ts %v; want %v", got, tc.wantTS)
			}
			for i := range got {
				if got[i] != tc.wantTS[i] {
					t.Fatalf("unexpected records; got ts %v; want %v", got, tc.wantTS)
				}
			}
			if corrupt != tc.wantCorrupt {
				t.Fatalf("unexpected corrupt count; got %d; want %d", corrupt, tc.wantCorrupt)
			}
			if end != tc.wantEnd {
				t.Fatalf("unexpected valid end; got %d; want %d", end, tc.wantEnd)
			}
		})
	}
}
