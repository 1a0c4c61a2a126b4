package tracking

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"slices"
)

// ParseCIDRFile reads IP ranges from the file at path, one CIDR prefix per line
// ("203.0.113.0/24", "2001:db8::/32"); a bare address counts as a single-host
// prefix. Text after '#' is a comment; blank lines are skipped. Host bits set
// in a prefix are cleared. Errors name the file and the line.
func ParseCIDRFile(path string) ([]netip.Prefix, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read CIDR file %q: %w", path, err)
	}
	var prefixes []netip.Prefix
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 64*1024)
	for line := 1; sc.Scan(); line++ {
		text := sc.Bytes()
		if i := bytes.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		text = trimSpace(text)
		if len(text) == 0 {
			continue
		}
		p, err := parsePrefixOrAddr(string(text))
		if err != nil {
			return nil, fmt.Errorf("cannot parse CIDR file %q: line %d: %w", path, line, err)
		}
		prefixes = append(prefixes, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot parse CIDR file %q: %w", path, err)
	}
	return prefixes, nil
}

func parsePrefixOrAddr(s string) (netip.Prefix, error) {
	if bytes.IndexByte([]byte(s), '/') < 0 {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid CIDR prefix or address %q", s)
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("invalid address %q: zones are not allowed", s)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid CIDR prefix %q: %w", s, err)
	}
	return p.Masked(), nil
}

// u128 is an IPv6 address (IPv4 in its IPv4-mapped form) as a number.
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool {
	return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo
}

// next returns a+1, wrapping to zero after the last address.
func (a u128) next() u128 {
	a.lo++
	if a.lo == 0 {
		a.hi++
	}
	return a
}

func addrU128(a netip.Addr) u128 {
	b := a.Unmap().As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// ipRange is an inclusive range of addresses.
type ipRange struct{ first, last u128 }

// ipRanges is a sorted set of disjoint address ranges with binary-search
// lookup; IPv4 lives in the IPv4-mapped part of the IPv6 space.
type ipRanges []ipRange

func newIPRanges(prefixes []netip.Prefix) (ipRanges, error) {
	r := make(ipRanges, 0, len(prefixes))
	for _, p := range prefixes {
		if !p.IsValid() {
			return nil, fmt.Errorf("invalid prefix %q", p.String())
		}
		p = p.Masked()
		bits := p.Bits()
		if p.Addr().Is4() {
			bits += 96
		}
		first := addrU128(p.Addr())
		last := first
		host := 128 - bits
		switch {
		case host >= 64:
			last.lo = ^uint64(0)
			if host > 64 {
				last.hi |= ^uint64(0) >> (128 - host)
			}
		case host > 0:
			last.lo |= ^uint64(0) >> (64 - host)
		}
		r = append(r, ipRange{first, last})
	}
	slices.SortFunc(r, func(a, b ipRange) int {
		switch {
		case a.first.less(b.first):
			return -1
		case b.first.less(a.first):
			return 1
		}
		return 0
	})
	// Merge overlapping and adjacent ranges.
	out := r[:0]
	for _, x := range r {
		if n := len(out); n > 0 {
			prev := &out[n-1]
			if !prev.last.less(x.first) || prev.last.next() == x.first && x.first != (u128{}) {
				if prev.last.less(x.last) {
					prev.last = x.last
				}
				continue
			}
		}
		out = append(out, x)
	}
	return slices.Clip(out), nil
}

// contains reports whether a is in one of the ranges. It does not allocate.
func (r ipRanges) contains(a netip.Addr) bool {
	if len(r) == 0 || !a.IsValid() {
		return false
	}
	x := addrU128(a)
	// Find the last range whose first address is <= x.
	lo, hi := 0, len(r)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if x.less(r[mid].first) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo == 0 {
		return false
	}
	return !r[lo-1].last.less(x)
}

// appendIPPrefix appends the network of a as text: the /24 of an IPv4 address
// (IPv4-mapped IPv6 counts as IPv4), the /48 of an IPv6 address. Nothing is
// appended for an invalid address. It does not allocate when dst has capacity.
func appendIPPrefix(dst []byte, a netip.Addr) []byte {
	a = a.Unmap().WithZone("")
	switch {
	case a.Is4():
		// By hand: three octets and a constant suffix, where
		// netip.Prefix.AppendTo formats the address and the prefix length
		// generically (about a sixth of the classification's time per
		// click, bench/RESULTS.md round 12).
		b := a.As4()
		dst = appendOctet(dst, b[0])
		dst = append(dst, '.')
		dst = appendOctet(dst, b[1])
		dst = append(dst, '.')
		dst = appendOctet(dst, b[2])
		return append(dst, ".0/24"...)
	case a.Is6():
		return netip.PrefixFrom(a, 48).Masked().AppendTo(dst)
	default:
		return dst
	}
}

// appendOctet appends v in decimal.
func appendOctet(dst []byte, v byte) []byte {
	switch {
	case v >= 100:
		return append(dst, '0'+v/100, '0'+v/10%10, '0'+v%10)
	case v >= 10:
		return append(dst, '0'+v/10, '0'+v%10)
	default:
		return append(dst, '0'+v)
	}
}
