package emitter

import (
	"encoding/binary"
	"hash/crc32"
)

// Spool record layout, all integers little-endian:
//
//	offset size field
//	0      4    size: number of bytes after the crc field (16 + len(key) + len(value))
//	4      4    crc:  CRC-32C (Castagnoli) of the size field followed by every byte after crc
//	8      8    ts:   Kafka record timestamp, Unix milliseconds
//	16     4    klen: key length
//	20     klen key
//	20+klen     value (the rest of the record)
//
// Every segment file starts with segmentMagic. A record is valid only when
// its size is in range, its key fits and its checksum matches, so a torn
// write, a zero-filled tail or a flipped bit is detected and skipped.
const (
	recordHeaderSize = 20
	// recordFixedBody is the part of size that is not key or value.
	recordFixedBody = 12
	// maxRecordBody bounds the size field the decoder accepts. It is far
	// above any event Emit accepts (MaxEventBytes is capped below it), so a
	// record written under another configuration still decodes, while a
	// garbage size field is rejected without reading megabytes.
	maxRecordBody = recordFixedBody + maxEventBytesLimit

	segmentMagic      = "clkspl01"
	segmentHeaderSize = int64(len(segmentMagic))
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// spoolRecord is one event as the spool stores it. Key and Value alias
// memory owned by whoever built the record.
type spoolRecord struct {
	TS    int64
	Key   []byte
	Value []byte
}

// encodedSize returns the number of bytes appendRecord adds for r.
func (r *spoolRecord) encodedSize() int {
	return recordHeaderSize + len(r.Key) + len(r.Value)
}

// appendRecord appends the encoding of r to dst and returns the extended
// buffer.
func appendRecord(dst []byte, r *spoolRecord) []byte {
	start := len(dst)
	body := recordFixedBody + len(r.Key) + len(r.Value)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(body))
	dst = binary.LittleEndian.AppendUint32(dst, 0) // crc, set below
	dst = binary.LittleEndian.AppendUint64(dst, uint64(r.TS))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(r.Key)))
	dst = append(dst, r.Key...)
	dst = append(dst, r.Value...)
	rec := dst[start:]
	binary.LittleEndian.PutUint32(rec[4:8], recordChecksum(rec))
	return dst
}

// recordChecksum returns the checksum of a complete encoded record.
func recordChecksum(rec []byte) uint32 {
	c := crc32.Update(0, castagnoli, rec[0:4])
	return crc32.Update(c, castagnoli, rec[8:])
}

// decodeRecord decodes the record at the start of b. It returns the record,
// whose Key and Value alias b, and the number of bytes it occupies. ok is
// false when b does not start with a complete valid record: a bad size, a
// key that does not fit, a checksum mismatch, or fewer bytes than the size
// field announces. decodeRecord never panics, whatever b holds.
func decodeRecord(b []byte) (r spoolRecord, n int, ok bool) {
	if len(b) < recordHeaderSize {
		return r, 0, false
	}
	body := binary.LittleEndian.Uint32(b[0:4])
	if body < recordFixedBody || body > maxRecordBody {
		return r, 0, false
	}
	klen := binary.LittleEndian.Uint32(b[16:20])
	if klen > body-recordFixedBody {
		return r, 0, false
	}
	n = 8 + int(body)
	if len(b) < n {
		return r, 0, false
	}
	rec := b[:n]
	if binary.LittleEndian.Uint32(rec[4:8]) != recordChecksum(rec) {
		return r, 0, false
	}
	r.TS = int64(binary.LittleEndian.Uint64(rec[8:16]))
	kend := recordHeaderSize + int(klen)
	r.Key = rec[recordHeaderSize:kend:kend]
	r.Value = rec[kend:n:n]
	return r, n, true
}

// scanRecords decodes the records in b, calling fn for each valid one with
// its offset in b. A region that holds no valid record (a flipped bit, a
// torn or zero-filled tail) is skipped by searching forward byte by byte for
// the next valid record; each such region is counted once in corrupt.
// validEnd is the end of the last valid record (0 when there is none). fn
// returning false stops the scan early; then next is the offset to resume
// at. scanRecords never panics, whatever b holds.
func scanRecords(b []byte, fn func(off int, r spoolRecord) bool) (next, validEnd, corrupt int) {
	pos := 0
	for pos < len(b) {
		r, n, ok := decodeRecord(b[pos:])
		if ok {
			if !fn(pos, r) {
				return pos, validEnd, corrupt
			}
			pos += n
			validEnd = pos
			continue
		}
		corrupt++
		pos = resync(b, pos+1)
	}
	return pos, validEnd, corrupt
}

// resync returns the offset of the first valid record in b at or after
// from, or len(b) when there is none.
func resync(b []byte, from int) int {
	for p := from; p < len(b); p++ {
		if _, _, ok := decodeRecord(b[p:]); ok {
			return p
		}
	}
	return len(b)
}
