package tracking

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// decodeIDTime returns the millisecond timestamp at the start of an ID.
func decodeIDTime(t *testing.T, id string) int64 {
	t.Helper()
	var v int64
	for i := 0; i < 10; i++ {
		d := strings.IndexByte(crockford, id[i])
		if d < 0 {
			t.Fatalf("unexpected character in ID %q; got %q; want Crockford base32", id, id[i])
		}
		v = v<<5 | int64(d)
	}
	return v
}

func TestIDGenerator(t *testing.T) {
	g := NewIDGenerator()
	before := time.Now().UnixMilli()
	id := string(g.Append([]byte("x")))[1:]
	after := time.Now().UnixMilli()
	if len(id) != IDLen {
		t.Fatalf("unexpected ID length; got %d; want %d", len(id), IDLen)
	}
	for i := 0; i < len(id); i++ {
		if !strings.Contains(crockford, id[i:i+1]) {
			t.Fatalf("unexpected character in ID %q; got %q; want Crockford base32", id, id[i])
		}
	}
	if ms := decodeIDTime(t, id); ms < before || ms > after {
		t.Fatalf("unexpected ID time; got %d; want between %d and %d", ms, before, after)
	}
}

func TestIDGeneratorFixedClock(t *testing.T) {
	g := NewIDGenerator()
	g.now = func() time.Time { return time.UnixMilli(1732000000123) }
	a, b := string(g.Append(nil)), string(g.Append(nil))
	if a == b {
		t.Fatalf("unexpected equal IDs within one millisecond; got %q twice; want different IDs", a)
	}
	if a[:16] != b[:16] {
		t.Fatalf("unexpected prefixes; got %q and %q; want the same time and process parts", a, b)
	}
	if got := decodeIDTime(t, a); got != 1732000000123 {
		t.Fatalf("unexpected ID time; got %d; want %d", got, int64(1732000000123))
	}
	// IDs sort by time as strings.
	g.now = func() time.Time { return time.UnixMilli(1732000000124) }
	if c := string(g.Append(nil)); c <= a {
		t.Fatalf("unexpected ID order; got %q <= %q; want later IDs to sort after", c, a)
	}
	// AppendAt takes the caller's time.
	if got := decodeIDTime(t, string(g.AppendAt(nil, time.UnixMilli(1732000009999)))); got != 1732000009999 {
		t.Fatalf("unexpected AppendAt time; got %d; want %d", got, int64(1732000009999))
	}
	// Another process differs in its random part.
	h := NewIDGenerator()
	h.now = g.now
	if h.process == g.process {
		t.Fatalf("unexpected equal process values; got %x twice; want random values", h.process)
	}
}

func TestIDGeneratorUnique(t *testing.T) {
	g := NewIDGenerator()
	const goroutines, each = 4, 5000
	ids := make([][]string, goroutines)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, IDLen)
			for j := 0; j < each; j++ {
				ids[i] = append(ids[i], string(g.Append(buf[:0])))
			}
		}()
	}
	wg.Wait()
	seen := make(map[string]bool, goroutines*each)
	for _, list := range ids {
		for _, id := range list {
			if seen[id] {
				t.Fatalf("unexpected duplicate ID; got %q twice; want unique IDs", id)
			}
			seen[id] = true
		}
	}
}

func TestAppendBase32(t *testing.T) {
	tests := []struct {
		hi, lo uint64
		want   string
	}{
		{0, 0, "00000000000000000000000000"},
		{0, 31, "0000000000000000000000000Z"},
		{^uint64(0), ^uint64(0), "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"},
		{1, 0, "0000000000000G000000000000"},
	}
	for _, tc := range tests {
		if got := string(appendBase32(nil, tc.hi, tc.lo)); got != tc.want {
			t.Errorf("unexpected encoding of %x:%x; got %q; want %q", tc.hi, tc.lo, got, tc.want)
		}
	}
}
