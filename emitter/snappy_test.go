package emitter

import (
	"bytes"
	"encoding/binary"
	"fmt"
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
		out := xerialCompress([]byte("prefix"), in)
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

// xerialCompress appends src compressed in the xerial framing to dst, all
// at once: the reference the batch builder's chunk-by-chunk output must
// equal.
func xerialCompress(dst, src []byte) []byte {
	dst = append(dst, xerialHeader...)
	for len(src) > 0 {
		chunk := src[:min(len(src), xerialChunk)]
		src = src[len(chunk):]
		dst = appendXerialChunk(dst, chunk)
	}
	return dst
}

// TestBatchBuilderSnappyChunks: compressing chunk by chunk while records are
// appended gives the same bytes as compressing the whole batch at the end,
// for batches ending below, at and past chunk boundaries, with records that
// straddle them, and the batch size counts uncompressed bytes.
func TestBatchBuilderSnappyChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	value := func(n int) []byte {
		v := make([]byte, n)
		for i := range v {
			v[i] = "{}\"clickedge:,0123"[rng.IntN(18)]
		}
		return v
	}
	codec, err := compressionCodec("snappy")
	if err != nil {
		t.Fatal(err)
	}
	var plain, chunked batchBuilder
	for _, count := range []int{1, 60, 67, 68, 69, 300, 1000} { // about 490 bytes a record: a chunk every ~67
		plain.reset(nil)
		chunked.reset(codec)
		for i := 0; i < count; i++ {
			k, v, ts := []byte(fmt.Sprintf("key-%d", i%7)), value(400+rng.IntN(180)), int64(1_800_000_000_000+i)
			plain.add(k, v, ts)
			chunked.add(k, v, ts)
		}
		if plain.size() != chunked.size() {
			t.Fatalf("%d records: size %d with snappy, %d without; want the uncompressed size for both", count, chunked.size(), plain.size())
		}
		raw, err := plain.finish()
		if err != nil {
			t.Fatal(err)
		}
		want := xerialCompress(nil, raw[prefixSize:])
		got, err := chunked.finish()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[prefixSize:], want) {
			t.Fatalf("%d records: chunk-by-chunk output differs from whole-batch compression (%d against %d bytes)", count, len(got)-prefixSize, len(want))
		}
	}
}
