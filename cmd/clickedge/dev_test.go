package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/alicebob/miniredis/v2"

	"github.com/clickedge/clickedge/linkcache"
	"github.com/clickedge/clickedge/rollup"
	"github.com/clickedge/clickedge/tracking"
)

// TestSeedDemo seeds the demo data into the embedded store dev uses, twice
// (dev must restart against a real Redis), and resolves every printed link.
func TestSeedDemo(t *testing.T) {
	mr := miniredis.RunT(t)
	s, err := linkcache.NewStore(linkcache.StoreConfig{Addr: mr.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var links []demoLink
	for range 2 {
		if links, err = seedDemo(s); err != nil {
			t.Fatalf("cannot seed: %v", err)
		}
	}
	levels := map[string]bool{}
	for _, l := range links {
		key := strings.TrimPrefix(l.path, "/")
		tg, err := s.Resolve(context.Background(), key)
		if err != nil {
			t.Fatalf("cannot resolve demo link %s (%s): %v", l.path, l.what, err)
		}
		if !linkcache.ValidLocation(string(tg.Location)) {
			t.Fatalf("unexpected Location %q", tg.Location)
		}
		levels[string(tg.Level)] = true
	}
	if len(levels) != 3 {
		t.Fatalf("unexpected demo link levels; got %v; want program, partner and ad", levels)
	}
}

// TestRollupOnEmbeddedStore applies clicks with the rollup's Lua script on the
// embedded store dev uses, as on Redis.
func TestRollupOnEmbeddedStore(t *testing.T) {
	mr := miniredis.RunT(t)
	s, err := linkcache.NewStore(linkcache.StoreConfig{Addr: mr.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := seedDemo(s); err != nil {
		t.Fatalf("cannot seed: %v", err)
	}
	a, err := rollup.New(rollup.Config{Store: s, Metrics: metrics.NewSet()})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []rollup.Message
	for i, visitor := range []string{"v1", "v1", "v2"} {
		c := tracking.Click{ID: fmt.Appendf(nil, "id%d", i), TS: time.Now().UnixMilli(), Level: []byte("program"),
			Program: []byte("demo"), Partner: []byte("alice"), Status: 302, Visitor: []byte(visitor), Device: tracking.DeviceMobile}
		msgs = append(msgs, rollup.Message{Offset: int64(i), Value: c.AppendJSON(nil)})
	}
	for range 2 { // the second time, every event is below the watermark
		if _, err := a.Apply(context.Background(), 0, msgs); err != nil {
			t.Fatalf("cannot apply on the embedded store: %v", err)
		}
	}
	u, err := rollup.NewReader(s).Usage(context.Background(), "demo", "alice", time.Now())
	if err != nil {
		t.Fatalf("cannot read usage: %v", err)
	}
	if u.Clicks != 3 || u.Counts.Payable != 2 || u.Counts.Duplicate != 1 || u.PayoutMicros != 200_000 {
		t.Fatalf("unexpected usage on the embedded store; got %+v", u)
	}
}
