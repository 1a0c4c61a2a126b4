package emitter

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
)

func testSpoolConfig(dir string) spoolConfig {
	return spoolConfig{
		dir:          dir,
		maxBytes:     1 << 20,
		segmentBytes: 4 << 10,
		syncInterval: -1,
		log:          zap.NewNop(),
	}
}

func mustOpenSpool(t *testing.T, cfg spoolConfig) (*spool, int) {
	t.Helper()
	sp, corrupt, err := openSpool(cfg, true)
	if err != nil {
		t.Fatalf("cannot open spool %q: %s", cfg.dir, err)
	}
	return sp, corrupt
}

func testRecords(from, n int) []spoolRecord {
	recs := make([]spoolRecord, n)
	for i := range recs {
		recs[i] = spoolRecord{
			TS:    int64(from + i),
			Key:   []byte(fmt.Sprintf("k%d", (from+i)%7)),
			Value: []byte(fmt.Sprintf("value-%06d-%s", from+i, strings.Repeat("x", 50))),
		}
	}
	return recs
}

// readAll drains the reader, acking as it goes, and returns the values read.
func readAll(t *testing.T, sp *spool) (values []string, corrupt int) {
	t.Helper()
	for {
		c, err := sp.rd.next(64)
		if err != nil {
			t.Fatalf("cannot read spool: %s", err)
		}
		corrupt += c.corrupt
		for _, r := range c.recs {
			values = append(values, string(r.Value))
		}
		sp.ack(c.seq, c.end)
		if len(c.recs) == 0 && c.corrupt == 0 {
			return values, corrupt
		}
	}
}

func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segmentSuffix))
	if err != nil {
		t.Fatalf("cannot list segments: %s", err)
	}
	return m
}

func wantValues(recs []spoolRecord) []string {
	var v []string
	for _, r := range recs {
		v = append(v, string(r.Value))
	}
	return v
}

func checkValues(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("unexpected record count; got %d; want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("unexpected record %d; got %q; want %q", i, got[i], want[i])
		}
	}
}

func TestSpoolAppendReadAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	sp, _ := mustOpenSpool(t, testSpoolConfig(dir))
	defer sp.close()
	recs := testRecords(0, 300)
	for i := 0; i < len(recs); i += 50 {
		res, ok := sp.append(recs[i:i+50], true, false)
		if !ok || res.written != 50 {
			t.Fatalf("unexpected append result; got %+v; want 50 written", res)
		}
	}
	if n := len(segmentFiles(t, dir)); n < 3 {
		t.Fatalf("unexpected segment count; got %d; want at least 3", n)
	}
	if !sp.detoured() {
		t.Fatalf("unexpected detour state; got false; want true")
	}
	got, corrupt := readAll(t, sp)
	checkValues(t, got, wantValues(recs))
	if corrupt != 0 {
		t.Fatalf("unexpected corrupt count; got %d; want 0", corrupt)
	}
	if n := len(segmentFiles(t, dir)); n != 0 {
		t.Fatalf("unexpected segments after full ack; got %d; want 0", n)
	}
	if sp.detoured() || sp.totalBytes.Load() != 0 {
		t.Fatalf("unexpected state after replay; got detour %v, %d bytes; want false, 0", sp.detoured(), sp.totalBytes.Load())
	}
	// Appending after the spool emptied starts a new segment.
	if res, _ := sp.append(recs[:3], true, false); res.written != 3 {
		t.Fatalf("unexpected append result; got %+v; want 3 written", res)
	}
	got, _ = readAll(t, sp)
	checkValues(t, got, wantValues(recs[:3]))
}

func TestSpoolOnlyIfDetour(t *testing.T) {
	sp, _ := mustOpenSpool(t, testSpoolConfig(t.TempDir()))
	defer sp.close()
	if _, ok := sp.append(testRecords(0, 1), false, true); ok {
		t.Fatalf("unexpected append to a spool that is not detoured")
	}
	sp.append(testRecords(0, 1), true, false)
	if res, ok := sp.append(testRecords(1, 1), false, true); !ok || res.written != 1 {
		t.Fatalf("unexpected append result; got %+v, %v; want 1 written", res, ok)
	}
}

func TestSpoolReopenReplaysAndResumesAtCursor(t *testing.T) {
	dir := t.TempDir()
	cfg := testSpoolConfig(dir)
	recs := testRecords(0, 200)

	sp, _ := mustOpenSpool(t, cfg)
	sp.append(recs, true, false)
	// Replay the first chunk, then stop as a graceful Close would.
	c, err := sp.rd.next(10)
	if err != nil || len(c.recs) != 10 {
		t.Fatalf("cannot read first chunk: %v, %d records", err, len(c.recs))
	}
	done := len(c.recs)
	sp.ack(c.seq, c.end)
	if err := sp.close(); err != nil {
		t.Fatalf("cannot close spool: %s", err)
	}

	sp, corrupt := mustOpenSpool(t, cfg)
	defer sp.close()
	if corrupt != 0 {
		t.Fatalf("unexpected corrupt count; got %d; want 0", corrupt)
	}
	if !sp.detoured() {
		t.Fatalf("unexpected detour state of a non-empty spool; got false; want true")
	}
	got, _ := readAll(t, sp)
	checkValues(t, got, wantValues(recs[done:]))
}

func TestSpoolTornTailTruncatedOnOpen(t *testing.T) {
	tests := []struct {
		name string
		tail func(rec []byte) []byte
	}{
		{"half record", func(rec []byte) []byte { return rec[:len(rec)/2] }},
		{"header only", func(rec []byte) []byte { return rec[:recordHeaderSize-3] }},
		{"zeros", func([]byte) []byte { return make([]byte, 4096) }},
		{"bad checksum", func(rec []byte) []byte { rec[len(rec)-1] ^= 1; return rec }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testSpoolConfig(dir)
			cfg.segmentBytes = 1 << 20
			recs := testRecords(0, 20)
			sp, _ := mustOpenSpool(t, cfg)
			sp.append(recs, true, false)
			if err := sp.close(); err != nil {
				t.Fatalf("cannot close spool: %s", err)
			}
			segs := segmentFiles(t, dir)
			if len(segs) != 1 {
				t.Fatalf("unexpected segment count; got %d; want 1", len(segs))
			}
			st, _ := os.Stat(segs[0])
			goodSize := st.Size()
			// Simulate kill -9 in the middle of a write.
			torn := tc.tail(appendRecord(nil, &testRecords(20, 1)[0]))
			f, err := os.OpenFile(segs[0], os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatalf("cannot open segment: %s", err)
			}
			f.Write(torn)
			f.Close()

			sp, corrupt := mustOpenSpool(t, cfg)
			defer sp.close()
			if corrupt != 1 {
				t.Fatalf("unexpected corrupt count; got %d; want 1", corrupt)
			}
			st, _ = os.Stat(segs[0])
			if st.Size() != goodSize {
				t.Fatalf("unexpected size after truncation; got %d; want %d", st.Size(), goodSize)
			}
			got, corrupt := readAll(t, sp)
			checkValues(t, got, wantValues(recs))
			if corrupt != 0 {
				t.Fatalf("unexpected corrupt count while reading; got %d; want 0", corrupt)
			}
		})
	}
}

func TestSpoolCorruptRecordSkipped(t *testing.T) {
	dir := t.TempDir()
	cfg := testSpoolConfig(dir)
	cfg.segmentBytes = 1 << 20
	recs := testRecords(0, 30)
	sp, _ := mustOpenSpool(t, cfg)
	sp.append(recs, true, false)
	sp.close()
	segs := segmentFiles(t, dir)
	// Flip a byte inside the value of record 10.
	off := segmentHeaderSize
	for i := 0; i < 10; i++ {
		off += int64(recs[i].encodedSize())
	}
	flipByte(t, segs[0], off+recordHeaderSize+int64(len(recs[10].Key))+3)

	sp, corrupt := mustOpenSpool(t, cfg)
	defer sp.close()
	if corrupt != 0 {
		t.Fatalf("unexpected corrupt count on open; got %d; want 0 (not a tail)", corrupt)
	}
	got, corrupt := readAll(t, sp)
	want := append(wantValues(recs[:10]), wantValues(recs[11:])...)
	checkValues(t, got, want)
	if corrupt != 1 {
		t.Fatalf("unexpected corrupt count; got %d; want 1", corrupt)
	}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("cannot open %q: %s", path, err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		t.Fatalf("cannot read %q: %s", path, err)
	}
	b[0] ^= 0x20
	if _, err := f.WriteAt(b[:], off); err != nil {
		t.Fatalf("cannot write %q: %s", path, err)
	}
}

func TestSpoolFull(t *testing.T) {
	cfg := testSpoolConfig(t.TempDir())
	cfg.maxBytes = 8 << 10
	cfg.segmentBytes = 2 << 10
	sp, _ := mustOpenSpool(t, cfg)
	defer sp.close()
	recs := testRecords(0, 500)
	res, _ := sp.append(recs, true, false)
	if res.full == 0 || res.written == 0 || res.written+res.full != len(recs) {
		t.Fatalf("unexpected append result; got %+v; want some written, the rest full", res)
	}
	if got := sp.totalBytes.Load(); got > cfg.maxBytes {
		t.Fatalf("unexpected spool size; got %d; want at most %d", got, cfg.maxBytes)
	}
	got, _ := readAll(t, sp)
	checkValues(t, got, wantValues(recs[:res.written]))
	// Space is free again once replayed.
	if res, _ := sp.append(recs[:10], true, false); res.written != 10 {
		t.Fatalf("unexpected append result after replay; got %+v; want 10 written", res)
	}
}

func TestSpoolDirLocked(t *testing.T) {
	dir := t.TempDir()
	sp, _ := mustOpenSpool(t, testSpoolConfig(dir))
	if _, _, err := openSpool(testSpoolConfig(dir), true); err == nil {
		t.Fatalf("unexpected success opening a spool dir in use")
	}
	sp.close()
	sp, _ = mustOpenSpool(t, testSpoolConfig(dir))
	sp.close()
}

func TestSpoolBadSegmentSetAside(t *testing.T) {
	dir := t.TempDir()
	cfg := testSpoolConfig(dir)
	sp, _ := mustOpenSpool(t, cfg)
	sp.append(testRecords(0, 5), true, false)
	sp.close()
	bad := filepath.Join(dir, fmt.Sprintf("%020d%s", 0o7, segmentSuffix))
	if err := os.WriteFile(bad, []byte("not a spool segment at all"), 0o644); err != nil {
		t.Fatalf("cannot write %q: %s", bad, err)
	}
	sp, corrupt := mustOpenSpool(t, cfg)
	defer sp.close()
	if corrupt != 1 {
		t.Fatalf("unexpected corrupt count; got %d; want 1", corrupt)
	}
	if _, err := os.Stat(bad + ".bad"); err != nil {
		t.Fatalf("unexpected missing set-aside file: %s", err)
	}
	got, _ := readAll(t, sp)
	checkValues(t, got, wantValues(testRecords(0, 5)))
}

func TestSpoolVanishedSegmentSkipped(t *testing.T) {
	dir := t.TempDir()
	cfg := testSpoolConfig(dir)
	sp, _ := mustOpenSpool(t, cfg)
	defer sp.close()
	recs := testRecords(0, 300)
	sp.append(recs, true, false)
	segs := segmentFiles(t, dir)
	if len(segs) < 3 {
		t.Fatalf("unexpected segment count; got %d; want at least 3", len(segs))
	}
	if err := os.Remove(segs[1]); err != nil {
		t.Fatalf("cannot remove segment: %s", err)
	}
	got, corrupt := readAll(t, sp)
	if corrupt != 1 {
		t.Fatalf("unexpected corrupt count; got %d; want 1", corrupt)
	}
	if len(got) >= len(recs) || got[0] != string(recs[0].Value) || got[len(got)-1] != string(recs[len(recs)-1].Value) {
		t.Fatalf("unexpected records; got %d from %q to %q; want the first and last segments", len(got), got[0], got[len(got)-1])
	}
	if n := sp.totalBytes.Load(); n != 0 {
		t.Fatalf("unexpected spool size after replay; got %d; want 0", n)
	}
}
