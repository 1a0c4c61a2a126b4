package tracking

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAppendIPPrefix(t *testing.T) {
	tests := []struct {
		ip   string
		want string
	}{
		{"203.0.113.77", "203.0.113.0/24"},
		{"10.0.0.1", "10.0.0.0/24"},
		{"::ffff:203.0.113.77", "203.0.113.0/24"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1::/48"},
		{"2001:db8:abcd:ffff::1", "2001:db8:abcd::/48"},
		{"fe80::1%eth0", "fe80::/48"},
		{"::1", "::/48"},
	}
	for _, tc := range tests {
		got := appendIPPrefix(nil, netip.MustParseAddr(tc.ip))
		if string(got) != tc.want {
			t.Errorf("unexpected prefix of %s; got %q; want %q", tc.ip, got, tc.want)
		}
	}
	if got := appendIPPrefix([]byte("x"), netip.Addr{}); string(got) != "x" {
		t.Fatalf("unexpected prefix of the zero address; got %q; want %q", got, "x")
	}
}

// Every IPv4 /24 is written as netip writes the masked prefix.
func TestAppendIPPrefixIPv4(t *testing.T) {
	for i := 0; i < 1<<24; i += 251 { // a prime step: every octet value in each place
		a := netip.AddrFrom4([4]byte{byte(i >> 16), byte(i >> 8), byte(i), byte(i * 7)})
		want := netip.PrefixFrom(a, 24).Masked().String()
		if got := appendIPPrefix(nil, a); string(got) != want {
			t.Fatalf("unexpected prefix of %s; got %q; want %q", a, got, want)
		}
	}
}

func TestIPRanges(t *testing.T) {
	r, err := newIPRanges([]netip.Prefix{
		netip.MustParsePrefix("203.0.113.0/24"),
		netip.MustParsePrefix("198.51.100.0/25"),
		netip.MustParsePrefix("198.51.100.128/25"), // adjacent: merged
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("10.1.0.0/16"), // inside 10/8
		netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("192.0.2.5/32"),
		netip.MustParsePrefix("172.16.1.2/12"), // host bits cleared
	})
	if err != nil {
		t.Fatalf("unexpected error; got %v; want nil", err)
	}
	if len(r) != 6 {
		t.Fatalf("unexpected number of merged ranges; got %d; want %d", len(r), 6)
	}
	tests := []struct {
		ip   string
		want bool
	}{
		{"203.0.113.0", true},
		{"203.0.113.255", true},
		{"203.0.114.0", false},
		{"203.0.112.255", false},
		{"198.51.100.0", true},
		{"198.51.100.200", true},
		{"198.51.101.0", false},
		{"10.200.3.4", true},
		{"11.0.0.0", false},
		{"::ffff:10.1.2.3", true},
		{"2001:db8:ffff::1", true},
		{"2001:db9::1", false},
		{"192.0.2.5", true},
		{"192.0.2.6", false},
		{"172.31.255.255", true},
		{"0.0.0.0", false},
		{"::", false},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false},
	}
	for _, tc := range tests {
		if got := r.contains(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("unexpected membership of %s; got %v; want %v", tc.ip, got, tc.want)
		}
	}
	if r.contains(netip.Addr{}) {
		t.Errorf("unexpected membership of the zero address; got %v; want %v", true, false)
	}

	all, err := newIPRanges([]netip.Prefix{netip.MustParsePrefix("::/0"), netip.MustParsePrefix("0.0.0.0/0")})
	if err != nil {
		t.Fatalf("unexpected error; got %v; want nil", err)
	}
	for _, ip := range []string{"::", "1.2.3.4", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"} {
		if !all.contains(netip.MustParseAddr(ip)) {
			t.Errorf("unexpected membership of %s in everything; got %v; want %v", ip, false, true)
		}
	}
	if _, err := newIPRanges([]netip.Prefix{{}}); err == nil {
		t.Fatalf("unexpected error for an invalid prefix; got nil; want an error")
	}
}

func TestParseCIDRFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	path := write("ok.txt", "# cloud ranges\n203.0.113.0/24\n\n  198.51.100.7   # one host\n2001:db8::/32\r\n10.1.2.3/8\n")
	got, err := ParseCIDRFile(path)
	if err != nil {
		t.Fatalf("unexpected error; got %v; want nil", err)
	}
	want := []string{"203.0.113.0/24", "198.51.100.7/32", "2001:db8::/32", "10.0.0.0/8"}
	if len(got) != len(want) {
		t.Fatalf("unexpected prefixes; got %v; want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("unexpected prefix %d; got %q; want %q", i, got[i], want[i])
		}
	}

	bad := []struct {
		name, text, wantErr string
	}{
		{"len.txt", "10.0.0.0/8\n10.0.0.0/33\n", "line 2"},
		{"word.txt", "# ok\n\nnot-an-ip\n", "line 3"},
		{"zone.txt", "fe80::1%eth0\n", "line 1"},
	}
	for _, tc := range bad {
		_, err := ParseCIDRFile(write(tc.name, tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("unexpected error for %s; got %v; want one naming the file and %q", tc.name, err, tc.wantErr)
		}
	}
	if _, err := ParseCIDRFile(filepath.Join(dir, "missing.txt")); err == nil {
		t.Errorf("unexpected error for a missing file; got nil; want an error")
	}
}
