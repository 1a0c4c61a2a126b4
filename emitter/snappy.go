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
// edge's serving core. appendCompressed encodes straight from the batch
// being built. Reading, and writing through NewWriter, are kafka-go's.
type xerialSnappy struct{ compress.Codec }

func newXerialSnappy() xerialSnappy {
	return xerialSnappy{&snappy.Codec{Framing: snappy.Framed, Compression: snappy.FasterCompression}}
}

const xerialChunk = 32 << 10

// xerialHeader is the framing's magic, version 1, compatible with version 1.
var xerialHeader = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1}

// appendCompressed appends src compressed in the xerial framing to dst.
func (xerialSnappy) appendCompressed(dst, src []byte) []byte {
	dst = append(dst, xerialHeader...)
	for len(src) > 0 {
		chunk := src[:min(len(src), xerialChunk)]
		src = src[len(chunk):]
		at := len(dst)
		dst = slices.Grow(dst, 4+s2.MaxEncodedLen(len(chunk)))
		enc := s2.EncodeSnappy(dst[at+4:cap(dst)], chunk)
		binary.BigEndian.PutUint32(dst[at:at+4], uint32(len(enc)))
		dst = dst[:at+4+len(enc)]
	}
	return dst
}

var _ compress.Codec = xerialSnappy{}
