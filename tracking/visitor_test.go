package tracking

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"testing"
)

func TestSipHash128Vectors(t *testing.T) {
	// Reference vectors of SipHash-2-4 with 128-bit output (vectors_sip128
	// of the reference implementation): key 00..0f, message 00..len-1.
	tests := []struct {
		len  int
		want string
	}{
		{0, "a3817f04ba25a8e66df67214c7550293"},
		{1, "da87c1d86b99af44347659119b22fc45"},
		{7, "a1f1ebbed8dbc153c0b84aa61ff08239"},
		{8, "3b62a9ba6258f5610f83e264f31497b4"},
		{15, "5493e99933b0a8117e08ec0f97cfc3d9"},
		{16, "6ee2a4ca67b054bbfd3315bf85230577"},
		{63, "5150d1772f50834a503e069a973fbd7c"},
	}
	var key [16]byte
	var msg [64]byte
	for i := range key {
		key[i] = byte(i)
	}
	for i := range msg {
		msg[i] = byte(i)
	}
	k := [2]uint64{binary.LittleEndian.Uint64(key[:8]), binary.LittleEndian.Uint64(key[8:])}
	for _, tc := range tests {
		h0, h1 := sipHash128(k, msg[:tc.len])
		var out [16]byte
		binary.LittleEndian.PutUint64(out[:8], h0)
		binary.LittleEndian.PutUint64(out[8:], h1)
		if got := hex.EncodeToString(out[:]); got != tc.want {
			t.Errorf("unexpected SipHash-2-4-128 of %d bytes; got %q; want %q", tc.len, got, tc.want)
		}
	}
	// The fixed-size variant agrees with the general one.
	w := [4]uint64{1, 2, 3, 4}
	var buf [32]byte
	for i, x := range w {
		binary.LittleEndian.PutUint64(buf[8*i:], x)
	}
	a0, a1 := sipHash128Words(k, w[0], w[1], w[2], w[3])
	b0, b1 := sipHash128(k, buf[:])
	if a0 != b0 || a1 != b1 {
		t.Fatalf("unexpected sipHash128Words; got %x%x; want %x%x", a0, a1, b0, b1)
	}
}

func visitorOf(key string, ip, ua string) string {
	k := deriveVisitorKeys([]byte(key))
	return string(appendVisitor(nil, &k, netip.MustParseAddr(ip), uaDigest(&k, []byte(ua))))
}

// TestVisitorDigits: the visitor is the two SipHash words in hex, most
// significant digit first, whatever their bits.
func TestVisitorDigits(t *testing.T) {
	k := deriveVisitorKeys([]byte("0123456789abcdef0123456789abcdef"))
	addrs := []netip.Addr{{}, netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("2001:db8::1")}
	for i := range 1000 {
		ip := addrs[i%len(addrs)]
		digest := [2]uint64{uint64(i) * 0x9e3779b97f4a7c15, ^uint64(i)}
		h0, h1 := visitorWords(&k, ip, digest)
		if got, want := string(appendVisitor([]byte("x"), &k, ip, digest)), fmt.Sprintf("x%016x%016x", h0, h1); got != want {
			t.Fatalf("visitor of %v, %x: %s; want %s", ip, digest, got, want)
		}
	}
	for _, v := range []uint32{0, 0xffffffff, 0x01234567, 0x89abcdef, 0xa0b0c0d0, 0x9f9f9f9f} {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], hex8(v))
		if got, want := string(b[:]), fmt.Sprintf("%08x", v); got != want {
			t.Fatalf("hex8(%#x) = %s; want %s", v, got, want)
		}
	}
}

func TestVisitor(t *testing.T) {
	const key = "0123456789abcdef0123456789abcdef"
	const ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	v := visitorOf(key, "203.0.113.7", ua)
	if len(v) != 32 {
		t.Fatalf("unexpected visitor length; got %d; want %d", len(v), 32)
	}
	if _, err := hex.DecodeString(v); err != nil {
		t.Fatalf("unexpected visitor %q; got an error %v; want hex", v, err)
	}
	tests := []struct {
		name      string
		key, ip   string
		ua        string
		wantEqual bool
	}{
		{"same inputs", key, "203.0.113.7", ua, true},
		{"IPv4-mapped IPv6 is IPv4", key, "::ffff:203.0.113.7", ua, true},
		{"other key", "fedcba9876543210fedcba9876543210", "203.0.113.7", ua, false},
		{"other address", key, "203.0.113.8", ua, false},
		{"other user agent", key, "203.0.113.7", ua + " ", false},
	}
	for _, tc := range tests {
		got := visitorOf(tc.key, tc.ip, tc.ua)
		if (got == v) != tc.wantEqual {
			t.Errorf("%s: unexpected visitor equality; got %v; want %v", tc.name, got == v, tc.wantEqual)
		}
	}
	if got := appendVisitor(nil, new(visitorKeys), netip.Addr{}, [2]uint64{}); len(got) != 32 {
		t.Fatalf("unexpected visitor length without an address; got %d; want %d", len(got), 32)
	}
}
