package rollup

import (
	"context"
	"fmt"
	"testing"

	"github.com/VictoriaMetrics/metrics"

	"github.com/clickedge/clickedge/linkcache/redistest"
	"github.com/clickedge/clickedge/tracking"
)

// marshal returns every argument of s as a string, as go-redis writes them.
func marshal(t *testing.T, s *scriptArgs) []string {
	t.Helper()
	out := make([]string, len(s.args))
	for i, a := range s.args {
		r, ok := a.(*argRef)
		if !ok {
			t.Fatalf("argument %d is a %T, want *argRef", i, a)
		}
		b, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
	}
	return out
}

func TestScriptArgs(t *testing.T) {
	s := new(scriptArgs)
	// Sized for 2, given 5: the references handed out before refs grew
	// still name their own bytes.
	s.reset(2)
	s.int(-42)
	s.str("ce:{k:shop:alice}:")
	s.bytes([]byte("01JX"))
	s.str("")
	s.cell(&tracking.Click{Source: tracking.SourceSocial, Country: []byte("DE"), Device: tracking.DeviceMobile, Ad: []byte("spring")})
	want := []string{"-42", "ce:{k:shop:alice}:", "01JX", "", "social|DE|mobile|spring"}
	if got := marshal(t, s); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("arguments = %q, want %q", got, want)
	}

	// Reused: the new arguments replace the old ones.
	s.reset(3)
	s.int(7)
	s.cell(&tracking.Click{Source: tracking.SourceDirect, Country: []byte("d3"), Device: tracking.DeviceDesktop, Ad: []byte("bad ad")})
	want = []string{"7", "direct||desktop|"} // untrusted country and ad blanked
	if got := marshal(t, s); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("reused arguments = %q, want %q", got, want)
	}
}

// TestApplyAllocationsPerEvent keeps the rollup step's allocations per event
// few. Building the script's arguments as boxed strings and numbers cost one
// or two allocations per argument, more than 30 per event with the decoding;
// what remains is the result's click ID and go-redis reading the answer.
func TestApplyAllocationsPerEvent(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race; make test runs this test without it")
	}
	srv := redistest.Start(t)
	a, err := New(Config{Store: seedKill(t, srv.Addr), Metrics: metrics.NewSet()})
	if err != nil {
		t.Fatal(err)
	}
	const runs, size = 5, 500
	events := killEvents(size)
	ids := tracking.NewIDGenerator()
	var click tracking.Click
	batches := make([][]Message, runs+1) // AllocsPerRun runs once more to warm up
	off := int64(0)
	for b := range batches {
		batches[b] = make([]Message, size)
		for i, e := range events {
			v := e.Value
			if tracking.DecodeClick(&click, v) == nil {
				click.ID = ids.Append(click.ID[:0]) // fresh IDs: decided anew
				v = click.AppendJSON(nil)
			}
			batches[b][i] = Message{Offset: off, Value: v}
			off++
		}
	}
	decided, next := 0, 0
	n := testing.AllocsPerRun(runs, func() {
		res, err := a.Apply(context.Background(), 0, batches[next])
		next++
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Skip == Applied && r.Decided {
				decided++
			}
		}
	})
	if decided < len(batches)*size*9/10 {
		t.Fatalf("%d of %d events decided; the batches should be applied, not skipped", decided, len(batches)*size)
	}
	if perEvent := n / size; perEvent > 8 {
		t.Errorf("Apply allocates %.1f times per event, want at most 8", perEvent)
	}
	t.Logf("%.2f allocations per event", n/size)
}
