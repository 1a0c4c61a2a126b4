package emitter

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clickedge/clickedge/emitter/kafkatest"
)

const testTopic = "clicks"

// testConfig returns a Config with short timeouts so failure scenarios
// finish quickly.
func testConfig(brokers ...string) Config {
	return Config{
		Brokers:          brokers,
		Topic:            testTopic,
		BatchTimeout:     2 * time.Millisecond,
		WriteTimeout:     300 * time.Millisecond,
		MaxAttempts:      1,
		ReplayBackoffMin: 20 * time.Millisecond,
		ReplayBackoffMax: 100 * time.Millisecond,
	}
}

func newTestWriter(t *testing.T, cfg Config) *Writer {
	t.Helper()
	w, err := New(cfg)
	if err != nil {
		t.Fatalf("cannot create writer: %s", err)
	}
	t.Cleanup(func() { _ = w.Close(context.Background()) })
	return w
}

func closeWriter(t *testing.T, w *Writer, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatalf("cannot close writer: %s", err)
	}
}

// waitFor polls cond until it holds. The limit only keeps a broken build
// from hanging; nothing is asserted about how long it takes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testKey(i int) []byte   { return []byte(fmt.Sprintf("p%d:partner%d", i%13, i%5)) }
func testValue(i int) []byte { return []byte(fmt.Sprintf(`{"v":1,"id":"click-%07d"}`, i)) }

func emitRange(w *Writer, from, to int) {
	for i := from; i < to; i++ {
		w.Emit(testKey(i), testValue(i))
	}
}

// checkTopic verifies that every value in [0, n) except those in missing is
// in the topic under its key, that nothing else is, and returns how many
// duplicates there were.
func checkTopic(t *testing.T, addr string, n int, missing map[int]bool) int {
	t.Helper()
	recs := kafkatest.ReadAll(t, addr, testTopic)
	seen := make(map[string]int, len(recs))
	for _, r := range recs {
		var i int
		if _, err := fmt.Sscanf(string(r.Value), `{"v":1,"id":"click-%07d"}`, &i); err != nil || !bytes.Equal(r.Value, testValue(i)) {
			t.Fatalf("unexpected value in topic; got %q", r.Value)
		}
		if !bytes.Equal(r.Key, testKey(i)) {
			t.Fatalf("unexpected key of %q; got %q; want %q", r.Value, r.Key, testKey(i))
		}
		seen[string(r.Value)]++
	}
	for i := 0; i < n; i++ {
		_, ok := seen[string(testValue(i))]
		if ok == missing[i] {
			t.Fatalf("unexpected presence of event %d in topic; got %v; want %v", i, ok, !missing[i])
		}
	}
	return len(recs) - len(seen)
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"batch timeout too long", Config{BatchTimeout: 11 * time.Millisecond}, "BatchTimeout"},
		{"negative queue", Config{QueueSize: -1}, "QueueSize"},
		{"broker without port", Config{Brokers: []string{"localhost"}}, "localhost"},
		{"unknown compression", Config{Compression: "brotli"}, "brotli"},
		{"event larger than batch", Config{MaxEventBytes: 1 << 20, BatchBytes: 1 << 20}, "BatchBytes"},
		{"tiny segments", Config{SpoolSegmentBytes: 100}, "SpoolSegmentBytes"},
		{"spool smaller than segment", Config{SpoolMaxBytes: 1 << 20, SpoolSegmentBytes: 2 << 20}, "SpoolMaxBytes"},
		{"backoff max below min", Config{ReplayBackoffMin: time.Second, ReplayBackoffMax: time.Millisecond}, "ReplayBackoffMax"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := New(tc.cfg)
			if err == nil {
				w.Close(context.Background())
				t.Fatalf("unexpected success; want an error mentioning %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("unexpected error; got %q; want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestZeroConfigDropsWithReason(t *testing.T) {
	w := newTestWriter(t, Config{})
	emitRange(w, 0, 10)
	closeWriter(t, w, 5*time.Second)
	s := w.Stats()
	if got := s.Dropped[DropNoBroker]; got != 10 {
		t.Fatalf("unexpected %s drops; got %d; want %d", DropNoBroker, got, 10)
	}
	w.Emit([]byte("k"), []byte("v"))
	if got := w.Stats().Dropped[DropNoBroker]; got != 11 {
		t.Fatalf("unexpected %s drops; got %d; want %d", DropNoBroker, got, 11)
	}
}

func TestBlankBrokersMeanNone(t *testing.T) {
	w := newTestWriter(t, Config{Brokers: []string{""}})
	w.Emit([]byte("k"), []byte("v"))
	if got := w.Stats().Dropped[DropNoBroker]; got != 1 {
		t.Fatalf("unexpected %s drops; got %d; want 1", DropNoBroker, got)
	}
}

func TestRoundTrip(t *testing.T) {
	addr, _ := kafkatest.Start(t, testTopic, 4)
	cfg := testConfig(addr)
	cfg.SpoolDir = t.TempDir()
	w := newTestWriter(t, cfg)
	const n = 5000
	key := []byte("reused-key")
	val := make([]byte, 0, 64)
	for i := 0; i < n; i++ {
		// The caller may reuse its slices as soon as Emit returns.
		key = append(key[:0], testKey(i)...)
		val = append(val[:0], testValue(i)...)
		w.Emit(key, val)
	}
	closeWriter(t, w, 10*time.Second)
	checkTopic(t, addr, n, nil)
	s := w.Stats()
	if s.Enqueued != n || s.Sent+s.Spooled != n {
		t.Fatalf("unexpected stats; got enqueued %d sent %d spooled %d; want %d events accounted", s.Enqueued, s.Sent, s.Spooled, n)
	}
	if d := s.DroppedTotal(); d != 0 {
		t.Fatalf("unexpected drops; got %v; want none", s.Dropped)
	}
}

func TestSameKeyStaysOrdered(t *testing.T) {
	addr, _ := kafkatest.Start(t, testTopic, 3)
	// Order per key holds while Kafka answers: a write that times out goes
	// to the spool and arrives later. A loaded test machine must not turn
	// a slow answer into a timeout here.
	cfg := testConfig(addr)
	cfg.WriteTimeout = 10 * time.Second
	w := newTestWriter(t, cfg)
	const n = 3000
	for i := 0; i < n; i++ {
		w.Emit([]byte(fmt.Sprintf("key%d", i%10)), []byte(fmt.Sprintf("%d", i)))
	}
	closeWriter(t, w, 10*time.Second)
	last := map[string]int{}
	for _, r := range kafkatest.ReadAll(t, addr, testTopic) {
		var i int
		fmt.Sscanf(string(r.Value), "%d", &i)
		if prev, ok := last[string(r.Key)]; ok && i < prev {
			t.Fatalf("unexpected order for key %q; got %d after %d", r.Key, i, prev)
		}
		last[string(r.Key)] = i
	}
	if len(last) != 10 {
		t.Fatalf("unexpected key count; got %d; want 10", len(last))
	}
}

// outageScenario emits events while down makes the broker fail, brings it
// back with up and checks that every event reached the topic.
func outageScenario(t *testing.T, addr string, down, up func()) {
	cfg := testConfig(addr)
	cfg.SpoolDir = t.TempDir()
	// A queue much smaller than the outage's events, so that they go
	// through the overflow buffer to the spool; an overflow buffer that
	// holds all of them, so that none is dropped when the spool writer gets
	// little CPU (under a parallel go test of every package, 902 of 4 096
	// were once dropped as queue_full): the spool's speed is not what this
	// tests.
	cfg.QueueSize = 512
	cfg.OverflowSize = 8192
	w := newTestWriter(t, cfg)

	var wg sync.WaitGroup
	produce := func(from, to int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := from; i < to; i++ {
				w.Emit(testKey(i), testValue(i))
				if i%100 == 0 {
					time.Sleep(time.Millisecond) // roughly 100k events/s
				}
			}
		}()
	}
	produce(0, 2000)
	waitFor(t, "first events sent", func() bool { return w.Stats().Sent > 0 })
	down()
	produce(2000, 6000)
	wg.Wait()
	waitFor(t, "failed writes and spooled events", func() bool {
		s := w.Stats()
		return s.Spooled > 0 && s.KafkaWriteErrors > 0
	})
	if !w.Stats().Spooling {
		t.Fatalf("unexpected spooling state during the outage; got false; want true")
	}
	up()
	produce(6000, 8000)
	wg.Wait()
	waitFor(t, "spool replayed", func() bool {
		s := w.Stats()
		return !s.Spooling && s.SpoolBytes == 0 && s.QueueDepth == 0
	})
	closeWriter(t, w, 10*time.Second)

	s := w.Stats()
	if d := s.DroppedTotal(); d != 0 {
		t.Fatalf("unexpected drops; got %v; want none", s.Dropped)
	}
	if s.Replayed < s.Spooled {
		t.Fatalf("unexpected stats; got %+v; want replayed >= spooled", s)
	}
	dups := checkTopic(t, addr, 8000, nil)
	t.Logf("sent %d, spooled %d, replayed %d, duplicates %d", s.Sent, s.Spooled, s.Replayed, dups)
}

func TestBrokerUnreachableThenBack(t *testing.T) {
	addr, _, gate := kafkatest.StartGated(t, testTopic, 4)
	outageScenario(t, addr, gate.Sever, gate.Open)
}

func TestBrokerFrozenThenBack(t *testing.T) {
	addr, _, gate := kafkatest.StartGated(t, testTopic, 4)
	outageScenario(t, addr, gate.Freeze, gate.Open)
}

func TestBrokerRestartedThenBack(t *testing.T) {
	b := kafkatest.StartBroker(t, testTopic, 4)
	outageScenario(t, b.Addr, b.Stop, b.Restart)
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cannot listen: %s", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestRestartReplaysSpool(t *testing.T) {
	dir := t.TempDir()
	const n = 3000

	cfgA := testConfig(deadAddr(t))
	cfgA.SpoolDir = dir
	a := newTestWriter(t, cfgA)
	emitRange(a, 0, n)
	closeWriter(t, a, 10*time.Second)
	if s := a.Stats(); s.Spooled != n || s.Sent != 0 {
		t.Fatalf("unexpected stats of the writer without broker; got spooled %d sent %d; want %d, 0", s.Spooled, s.Sent, n)
	}

	addr, _ := kafkatest.Start(t, testTopic, 4)
	cfgB := testConfig(addr)
	cfgB.SpoolDir = dir
	b := newTestWriter(t, cfgB)
	waitFor(t, "spool replayed", func() bool { return b.Stats().Replayed >= n })
	emitRange(b, n, n+100)
	closeWriter(t, b, 10*time.Second)
	checkTopic(t, addr, n+100, nil)
	if got := len(segmentFiles(t, dir)); got != 0 {
		t.Fatalf("unexpected segments left after replay; got %d; want 0", got)
	}
}

func TestNoBrokersSpoolsForLater(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{SpoolDir: dir}
	w := newTestWriter(t, cfg)
	emitRange(w, 0, 100)
	closeWriter(t, w, 5*time.Second)
	if s := w.Stats(); s.Spooled != 100 {
		t.Fatalf("unexpected spooled count; got %d; want 100", s.Spooled)
	}
	addr, _ := kafkatest.Start(t, testTopic, 1)
	cfg = testConfig(addr)
	cfg.SpoolDir = dir
	w = newTestWriter(t, cfg)
	waitFor(t, "spool replayed", func() bool { return w.Stats().Replayed >= 100 })
	closeWriter(t, w, 5*time.Second)
	checkTopic(t, addr, 100, nil)
}

func TestCorruptSpoolRecordSkippedAndTornTailTruncated(t *testing.T) {
	dir := t.TempDir()
	const n = 200
	a := newTestWriter(t, Config{SpoolDir: dir})
	emitRange(a, 0, n)
	closeWriter(t, a, 5*time.Second)

	segs := segmentFiles(t, dir)
	if len(segs) != 1 {
		t.Fatalf("unexpected segment count; got %d; want 1", len(segs))
	}
	data, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatalf("cannot read segment: %s", err)
	}
	// Damage the value of event 50 and leave half a record at the end, as
	// kill -9 during a write would.
	victim := bytes.Index(data, testValue(50))
	if victim < 0 {
		t.Fatalf("cannot find event 50 in the segment")
	}
	flipByte(t, segs[0], int64(victim+5))
	torn := appendRecord(nil, &spoolRecord{Key: testKey(n), Value: testValue(n)})
	f, err := os.OpenFile(segs[0], os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatalf("cannot open segment: %s", err)
	}
	f.Write(torn[:len(torn)-7])
	f.Close()

	addr, _ := kafkatest.Start(t, testTopic, 2)
	cfg := testConfig(addr)
	cfg.SpoolDir = dir
	b := newTestWriter(t, cfg)
	waitFor(t, "spool replayed", func() bool { return b.Stats().Replayed >= n-1 })
	closeWriter(t, b, 5*time.Second)
	// One for the torn tail (truncated by New), one for event 50.
	if got := b.Stats().Dropped[DropCorrupt]; got != 2 {
		t.Fatalf("unexpected corrupt drops; got %d; want 2", got)
	}
	checkTopic(t, addr, n, map[int]bool{50: true})
}

func TestSpoolFullDropsCounted(t *testing.T) {
	cfg := Config{
		SpoolDir:          t.TempDir(),
		SpoolMaxBytes:     16 << 10,
		SpoolSegmentBytes: 4 << 10,
	}
	w := newTestWriter(t, cfg)
	const n = 2000
	emitRange(w, 0, n)
	err := w.Close(context.Background())
	if err == nil || !strings.Contains(err.Error(), "dropped while closing") {
		t.Fatalf("unexpected Close error; got %v; want drops reported", err)
	}
	s := w.Stats()
	full := s.Dropped[DropSpoolFull]
	if full == 0 {
		t.Fatalf("unexpected %s drops; got 0; want some", DropSpoolFull)
	}
	if s.Spooled+full != n || s.DroppedTotal() != full {
		t.Fatalf("unexpected accounting; got spooled %d, dropped %v; want spooled + spool_full = %d", s.Spooled, s.Dropped, n)
	}
	if s.SpoolBytes > cfg.SpoolMaxBytes {
		t.Fatalf("unexpected spool size; got %d; want at most %d", s.SpoolBytes, cfg.SpoolMaxBytes)
	}
}

func TestQueueFullWithoutSpool(t *testing.T) {
	addr, _, gate := kafkatest.StartGated(t, testTopic, 1)
	cfg := testConfig(addr)
	cfg.QueueSize = 16
	cfg.BatchSize = 8
	w := newTestWriter(t, cfg)
	emitRange(w, 0, 10)
	waitFor(t, "first events sent", func() bool { return w.Stats().Sent == 10 })
	gate.Freeze()
	emitRange(w, 10, 1000)
	s := w.Stats()
	if s.Dropped[DropQueueFullNoSpool] == 0 {
		t.Fatalf("unexpected %s drops; got 0; want some", DropQueueFullNoSpool)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := w.Close(ctx)
	if err == nil {
		t.Fatalf("unexpected Close success; want drops reported")
	}
	s = w.Stats()
	if s.Dropped[DropNoSpool] == 0 {
		t.Fatalf("unexpected %s drops; got 0; want some", DropNoSpool)
	}
	if got := s.Sent + s.DroppedTotal(); got != 1000 {
		t.Fatalf("unexpected accounting; got sent %d + dropped %v = %d; want 1000", s.Sent, s.Dropped, got)
	}
}

func TestOverflowGoesToSpool(t *testing.T) {
	addr, _, gate := kafkatest.StartGated(t, testTopic, 2)
	cfg := testConfig(addr)
	cfg.SpoolDir = t.TempDir()
	cfg.QueueSize = 8
	cfg.WriteTimeout = 5 * time.Second // the flusher hangs; overflow must carry the load
	w := newTestWriter(t, cfg)
	emitRange(w, 0, 8)
	waitFor(t, "first events sent", func() bool { return w.Stats().Sent == 8 })
	gate.Freeze()
	emitRange(w, 8, 2000)
	waitFor(t, "overflow spooled", func() bool { return w.Stats().Spooled > 1000 })
	if d := w.Stats().DroppedTotal(); d != 0 {
		t.Fatalf("unexpected drops; got %v; want none", w.Stats().Dropped)
	}
	gate.Open()
	waitFor(t, "spool replayed", func() bool {
		s := w.Stats()
		return !s.Spooling && s.QueueDepth == 0
	})
	closeWriter(t, w, 10*time.Second)
	checkTopic(t, addr, 2000, nil)
}

func TestEmitAfterCloseCounted(t *testing.T) {
	addr, _ := kafkatest.Start(t, testTopic, 1)
	w := newTestWriter(t, testConfig(addr))
	closeWriter(t, w, 5*time.Second)
	w.Emit([]byte("k"), []byte("v"))
	if got := w.Stats().Dropped[DropClosed]; got != 1 {
		t.Fatalf("unexpected %s drops; got %d; want 1", DropClosed, got)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatalf("unexpected error from a second Close: %s", err)
	}
}

func TestTooLargeDropped(t *testing.T) {
	w := newTestWriter(t, Config{SpoolDir: t.TempDir(), MaxEventBytes: 100})
	w.Emit(nil, make([]byte, 101))
	w.Emit(nil, make([]byte, 100))
	closeWriter(t, w, 5*time.Second)
	s := w.Stats()
	if s.Dropped[DropTooLarge] != 1 || s.Spooled != 1 {
		t.Fatalf("unexpected stats; got dropped %v spooled %d; want 1 too_large, 1 spooled", s.Dropped, s.Spooled)
	}
}

func TestSpoolDirInUse(t *testing.T) {
	dir := t.TempDir()
	newTestWriter(t, Config{SpoolDir: dir})
	if w, err := New(Config{SpoolDir: dir}); err == nil {
		w.Close(context.Background())
		t.Fatalf("unexpected success opening a spool dir used by another Writer")
	}
}

func TestWriteMetrics(t *testing.T) {
	addr, _ := kafkatest.Start(t, testTopic, 1)
	cfg := testConfig(addr)
	cfg.SpoolDir = filepath.Join(t.TempDir(), "spool")
	w := newTestWriter(t, cfg)
	emitRange(w, 0, 10)
	waitFor(t, "events sent", func() bool { return w.Stats().Sent == 10 })
	var buf bytes.Buffer
	w.WriteMetrics(&buf)
	for _, want := range []string{
		`clickedge_events_total{result="enqueued"} 10`,
		`clickedge_events_total{result="sent"} 10`,
		`clickedge_events_total{result="spooled"} 0`,
		`clickedge_events_total{result="replayed"} 0`,
		`clickedge_events_dropped_total{reason="spool_full"} 0`,
		`clickedge_events_dropped_total{reason="corrupt"} 0`,
		`clickedge_emitter_queue_depth 0`,
		`clickedge_spool_bytes 0`,
		`clickedge_spool_segments 0`,
		`clickedge_kafka_write_duration_seconds_bucket{le="+Inf"}`,
		`clickedge_kafka_write_duration_seconds_count`,
		`clickedge_kafka_write_errors_total 0`,
	} {
		if !strings.Contains(buf.String(), want) {
			t.Fatalf("unexpected metrics; got\n%s\nwant a line with %q", buf.String(), want)
		}
	}
}

func TestCloseDrainsToSpoolWhenKafkaHangs(t *testing.T) {
	addr, _, gate := kafkatest.StartGated(t, testTopic, 2)
	dir := t.TempDir()
	cfg := testConfig(addr)
	cfg.SpoolDir = dir
	cfg.WriteTimeout = 10 * time.Second // only Close's context ends the hung write
	w := newTestWriter(t, cfg)
	emitRange(w, 0, 10)
	waitFor(t, "first events sent", func() bool { return w.Stats().Sent == 10 })
	gate.Freeze()
	emitRange(w, 10, 3000)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatalf("cannot close writer: %s", err)
	}
	s := w.Stats()
	if s.Sent+s.Spooled < 3000 || s.DroppedTotal() != 0 {
		t.Fatalf("unexpected stats; got sent %d spooled %d dropped %v; want all 3000 sent or spooled", s.Sent, s.Spooled, s.Dropped)
	}
	gate.Open()
	cfg.WriteTimeout = 300 * time.Millisecond
	w = newTestWriter(t, cfg)
	waitFor(t, "spool replayed", func() bool { return !w.Stats().Spooling })
	closeWriter(t, w, 5*time.Second)
	checkTopic(t, addr, 3000, nil)
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	addr, _, gate := kafkatest.StartGated(t, testTopic, 2)
	before := runtime.NumGoroutine()
	cfg := testConfig(addr)
	cfg.SpoolDir = t.TempDir()
	w, err := New(cfg)
	if err != nil {
		t.Fatalf("cannot create writer: %s", err)
	}
	emitRange(w, 0, 100)
	waitFor(t, "events sent", func() bool { return w.Stats().Sent == 100 })
	gate.Freeze() // leave a write hanging at Close
	emitRange(w, 100, 200)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatalf("cannot close writer: %s", err)
	}
	gate.Open()
	waitFor(t, "goroutines of the writer and kafka-go to end", func() bool {
		return runtime.NumGoroutine() <= before
	})
}

func TestSpoolErrorDropsCounted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	w := newTestWriter(t, Config{SpoolDir: dir})
	// A spool directory that vanished makes every segment creation fail.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatalf("cannot remove spool dir: %s", err)
	}
	emitRange(w, 0, 10)
	if err := w.Close(context.Background()); err == nil {
		t.Fatalf("unexpected Close success; want drops reported")
	}
	if got := w.Stats().Dropped[DropSpoolError]; got != 10 {
		t.Fatalf("unexpected %s drops; got %d; want 10", DropSpoolError, got)
	}
}

func TestCloseWhileEmitting(t *testing.T) {
	addr, _ := kafkatest.Start(t, testTopic, 4)
	cfg := testConfig(addr)
	cfg.QueueSize = 2048
	w := newTestWriter(t, cfg)
	var wg sync.WaitGroup
	var closed atomic.Bool
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; !closed.Load() && i < 200000; i += 4 {
				w.Emit(testKey(i), testValue(i))
				if i%64 == 0 {
					time.Sleep(100 * time.Microsecond)
				}
			}
		}()
	}
	waitFor(t, "events sent", func() bool { return w.Stats().Sent > 1000 })
	closeWriter(t, w, 10*time.Second)
	closed.Store(true)
	wg.Wait()
	s := w.Stats()
	// Without a spool a flood this fast overruns the queue; those events
	// were never enqueued.
	if s.Sent != s.Enqueued || s.DroppedTotal() != s.Dropped[DropClosed]+s.Dropped[DropQueueFullNoSpool] {
		t.Fatalf("unexpected stats after Close; got %+v; want every enqueued event sent", s)
	}
	recs := kafkatest.ReadAll(t, addr, testTopic)
	seen := make(map[string]bool, len(recs))
	for _, r := range recs {
		seen[string(r.Value)] = true
	}
	if uint64(len(seen)) != s.Enqueued {
		t.Fatalf("unexpected distinct events in topic; got %d; want %d", len(seen), s.Enqueued)
	}
}
