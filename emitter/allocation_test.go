package emitter

import (
	"runtime"
	"testing"
	"time"

	"github.com/clickedge/clickedge/emitter/kafkatest"
)

var (
	allocKey   = []byte("42:7")
	allocValue = []byte(`{"v":1,"id":"01HF8Z3W6V4YQK9T2N5R7B1C0D","ts":1700000000000,"code":"spring-sale","program":"42","partner":"7"}`)
)

// warmEmit emits n events and waits until the flusher has handed every
// buffer back to the pool.
func warmEmit(t *testing.T, w *Writer, n int) {
	t.Helper()
	before := w.Stats()
	for i := 0; i < n; i++ {
		w.Emit(allocKey, allocValue)
	}
	waitFor(t, "warm-up events delivered", func() bool {
		s := w.Stats()
		return s.Sent+s.Spooled-before.Sent-before.Spooled == uint64(n)
	})
}

func TestEmitAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations are not measurable under the race detector")
	}
	addr, _ := kafkatest.Start(t, testTopic, 2)
	cfg := testConfig(addr)
	cfg.SpoolDir = t.TempDir()
	w := newTestWriter(t, cfg)
	warmEmit(t, w, 5000)
	allocs := testing.AllocsPerRun(2000, func() { w.Emit(allocKey, allocValue) })
	if allocs != 0 {
		t.Fatalf("unexpected allocations per Emit; got %v; want 0", allocs)
	}
}

// TestSpoolPathAllocations counts every allocation in the process while
// events travel Emit → queue → flusher → spool, so it also covers the
// goroutines behind Emit. (The Kafka path allocates per batch inside
// kafka-go, never per Emit.)
func TestSpoolPathAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations are not measurable under the race detector")
	}
	w := newTestWriter(t, Config{SpoolDir: t.TempDir()})
	warmEmit(t, w, 5000)
	const n = 5000
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i++ {
		w.Emit(allocKey, allocValue)
	}
	for w.queueDepth() > 0 || w.m.spooled.Get() < 10000 {
		time.Sleep(time.Millisecond)
	}
	runtime.ReadMemStats(&after)
	// A handful of allocations (timers, runtime bookkeeping) is noise;
	// one per event or per batch is not.
	if got := after.Mallocs - before.Mallocs; got > n/100 {
		t.Fatalf("unexpected allocations for %d events on the spool path; got %d; want at most %d", n, got, n/100)
	}
}
