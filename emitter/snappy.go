package emitter

import (
	"encoding/binary"
	"slices"

	"github.com/klauspost/compress/s2"
	"github.com/segmentio/kafka-go/compress"
	"github.com/segmentio/kafka-go/compress/snappy"
)

// xerialSnappy is Kafka's snappy codec as the Java client writes it: the
// xerial framing (a 16-byte header, then chunks of at most 32 KiB of input,
// each a big-endian int32 length and one snappy block), with S2's fastest
// snappy-compatible encoder.
//
// kafka-go's snappy writer copies its input into a buffer of its own before
// encoding it; for a batch that is the whole batch copied once more on the
// edge's serving core. The batch builder encodes straight from the records
// being appended, a chunk at a time (appendXerialChunk after xerialHeader).
// Reading, and writing through NewWriter, are kafka-go's.
type xerialSnappy struct{ compress.Codec }

func newXerialSnappy() xerialSnappy {
	return xerialSnappy{&snappy.Codec{Framing: snappy.Framed, Compression: snappy.FasterCompression}}
}

const xerialChunk = 32 << 10

// xerialHeader is the framing's magic, version 1, compatible with version 1.
var xerialHeader = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1}

// appendXerialChunk appends one chunk of the xerial framing holding chunk
// (at most xerialChunk bytes) to dst: its length, then one snappy block.
func appendXerialChunk(dst, chunk []byte) []byte {
	at := len(dst)
	dst = slices.Grow(dst, 4+s2.MaxEncodedLen(len(chunk)))
	enc := s2.EncodeSnappy(dst[at+4:cap(dst)], chunk)
	binary.BigEndian.PutUint32(dst[at:at+4], uint32(len(enc)))
	return dst[:at+4+len(enc)]
}

var _ compress.Codec = xerialSnappy{}
