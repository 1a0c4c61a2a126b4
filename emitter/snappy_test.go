package emitter

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/snappy"
)

// TestXerialSnappyFraming: the direct encoder writes the xerial framing the
// Java client reads (header, chunks of at most 32 KiB of input) and kafka-go
// decodes it back to the input.
func TestXerialSnappyFraming(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, xerialChunk - 1, xerialChunk, xerialChunk + 1, 100_000} {
		in := make([]byte, size)
		for i := range in {
			in[i] = "clickedge{}:,\""[rng.IntN(14)] // compressible, not constant
		}
		c := newXerialSnappy()
		out := c.appendCompressed([]byte("prefix"), in)
		if !bytes.HasPrefix(out, []byte("prefix")) {
			t.Fatalf("size %d: the prefix was overwritten", size)
		}
		framed := out[len("prefix"):]
		got, err := io.ReadAll(c.NewReader(bytes.NewReader(framed)))
		if err != nil || !bytes.Equal(got, in) {
			t.Fatalf("size %d: kafka-go read back %d bytes, error %v; want the %d input bytes", size, len(got), err, len(in))
		}
		if !bytes.Equal(framed[:16], xerialHeader) {
			t.Fatalf("size %d: unexpected header %x", size, framed[:16])
		}
		total := 0
		for rest := framed[16:]; len(rest) > 0; {
			n := int(binary.BigEndian.Uint32(rest))
			block := rest[4 : 4+n]
			dn, err := snappy.DecodedLen(block)
			if err != nil || dn > xerialChunk {
				t.Fatalf("size %d: chunk of %d bytes decodes to %d (error %v); want at most %d", size, n, dn, err, xerialChunk)
			}
			total += dn
			rest = rest[4+n:]
		}
		if total != size {
			t.Fatalf("size %d: chunks hold %d bytes", size, total)
		}
	}
}
