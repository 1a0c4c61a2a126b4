package emitter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// The spool is a directory of append-only segment files named
// <20-digit sequence>.seg, oldest first, plus LOCK (held with flock while a
// Writer uses the directory) and cursor (how far replay got). Appends go to
// the newest (active) segment; the replayer reads segments in order and a
// segment is deleted only after Kafka acknowledged every record in it.
const (
	segmentSuffix  = ".seg"
	cursorFileName = "cursor"
	lockFileName   = "LOCK"
	// cursorSaveEvery throttles how often the replay position is written
	// to disk; a crash replays at most this much again (duplicates, never
	// loss).
	cursorSaveEvery = time.Second
)

type spoolConfig struct {
	dir          string
	maxBytes     int64
	segmentBytes int64
	syncInterval time.Duration
	log          *zap.Logger
}

// segment is one spool file. size counts whole records only: appends write
// complete records and advance size after the write succeeded, so bytes
// beyond size are never read.
type segment struct {
	seq  uint64
	path string
	size int64
	f    *os.File // open for writing while the segment is active
}

// appendResult says what happened to the records given to spool.append.
type appendResult struct {
	written int // appended to a segment
	full    int // dropped: the spool is at maxBytes
	failed  int // dropped: the disk write failed
}

// spool is the on-disk buffer. All methods are safe for concurrent use;
// the reader methods (next) must be called from one goroutine only.
type spool struct {
	cfg  spoolConfig
	lock *os.File

	mu       sync.Mutex
	segs     []*segment // oldest first; the last one is active when active != nil
	active   *segment
	nextSeq  uint64
	total    int64 // bytes of all segment files
	wbuf     []byte
	dirty    bool // written since the last fsync
	detour   bool // live events go to the spool until it is empty
	ackSeq   uint64
	ackOff   int64
	closed   bool
	canClear bool // an empty spool ends the detour (false without Kafka)
	failing  bool // the last write failed (logged once per run of failures)

	// Lock-free mirrors for gauges and the flusher's fast path.
	detourFlag atomic.Bool
	totalBytes atomic.Int64
	segCount   atomic.Int64

	kick chan struct{} // wakes the replayer after an append

	// Replay reader state, owned by the replayer goroutine.
	rd spoolReader
}

// openSpool opens or creates the spool in cfg.dir, truncates a torn tail of
// the newest segment left by a crash and positions the replay cursor. It
// returns how many corrupt regions it found and removed.
func openSpool(cfg spoolConfig, canClear bool) (*spool, int, error) {
	if err := os.MkdirAll(cfg.dir, 0o755); err != nil {
		return nil, 0, fmt.Errorf("cannot create spool dir %q: %w", cfg.dir, err)
	}
	lock, err := lockDir(filepath.Join(cfg.dir, lockFileName))
	if err != nil {
		return nil, 0, fmt.Errorf("cannot lock spool dir %q: %w", cfg.dir, err)
	}
	sp := &spool{
		cfg:      cfg,
		lock:     lock,
		nextSeq:  1,
		canClear: canClear,
		kick:     make(chan struct{}, 1),
	}
	corrupt, err := sp.load()
	if err != nil {
		_ = unlockDir(lock)
		return nil, 0, err
	}
	return sp, corrupt, nil
}

// load reads the directory: segment list, sizes, cursor and torn tail.
func (sp *spool) load() (int, error) {
	dir := sp.cfg.dir
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("cannot read spool dir %q: %w", dir, err)
	}
	var seqs []uint64
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, segmentSuffix) {
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(name, segmentSuffix), 10, 64)
		if err != nil || seq == 0 {
			continue // not ours
		}
		seqs = append(seqs, seq)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })

	curSeq, curOff, haveCursor := sp.readCursor()
	corrupt := 0
	for i, seq := range seqs {
		path := sp.segPath(seq)
		if haveCursor && seq < curSeq {
			// Fully acknowledged before the previous process stopped.
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return 0, fmt.Errorf("cannot remove replayed segment %q: %w", path, err)
			}
			continue
		}
		size, bad, err := sp.checkSegment(path, i == len(seqs)-1)
		if err != nil {
			return 0, err
		}
		corrupt += bad
		if size < 0 {
			continue // unusable segment, set aside
		}
		sp.segs = append(sp.segs, &segment{seq: seq, path: path, size: size})
		sp.total += size
	}
	if n := len(seqs); n > 0 {
		sp.nextSeq = seqs[n-1] + 1
	}
	// Position the reader.
	sp.rd = spoolReader{sp: sp}
	if len(sp.segs) > 0 {
		first := sp.segs[0]
		sp.rd.seq, sp.rd.off = first.seq, segmentHeaderSize
		if haveCursor && first.seq == curSeq && curOff >= segmentHeaderSize && curOff <= first.size {
			sp.rd.off = curOff
		}
		sp.ackSeq, sp.ackOff = sp.rd.seq, sp.rd.off
		sp.detour = true
	}
	sp.publish()
	return corrupt, nil
}

// checkSegment validates a segment's header. For the newest segment
// (last), it also scans every record and truncates a torn tail: the bytes
// after the last valid record when no valid record follows them. It
// returns the usable size, or -1 when the segment is unusable and was set
// aside, and how many corrupt regions it removed.
func (sp *spool) checkSegment(path string, last bool) (int64, int, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("cannot open spool segment %q: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("cannot stat spool segment %q: %w", path, err)
	}
	size := st.Size()
	var magic [len(segmentMagic)]byte
	if _, err := f.ReadAt(magic[:], 0); err != nil || string(magic[:]) != segmentMagic {
		if size == 0 || (last && size < segmentHeaderSize) {
			// Created but never written: a crash right after create.
			_ = os.Remove(path)
			return -1, 0, nil
		}
		bad := path + ".bad"
		sp.cfg.log.Error("spool segment has no valid header; set aside",
			zap.String("path", path), zap.String("renamedTo", bad))
		if err := os.Rename(path, bad); err != nil {
			return 0, 0, fmt.Errorf("cannot set aside spool segment %q: %w", path, err)
		}
		return -1, 1, nil
	}
	if !last {
		return size, 0, nil
	}
	data := make([]byte, size-segmentHeaderSize)
	if _, err := f.ReadAt(data, segmentHeaderSize); err != nil && !errors.Is(err, io.EOF) {
		return 0, 0, fmt.Errorf("cannot read spool segment %q: %w", path, err)
	}
	_, validEnd, _ := scanRecords(data, func(int, spoolRecord) bool { return true })
	if int64(validEnd) == int64(len(data)) {
		return size, 0, nil
	}
	end := segmentHeaderSize + int64(validEnd)
	sp.cfg.log.Warn("truncating torn tail of spool segment",
		zap.String("path", path), zap.Int64("from", size), zap.Int64("to", end))
	if err := f.Truncate(end); err != nil {
		return 0, 0, fmt.Errorf("cannot truncate torn tail of spool segment %q: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return 0, 0, fmt.Errorf("cannot sync spool segment %q: %w", path, err)
	}
	return end, 1, nil
}

func (sp *spool) segPath(seq uint64) string {
	return filepath.Join(sp.cfg.dir, fmt.Sprintf("%020d%s", seq, segmentSuffix))
}

// publish refreshes the lock-free mirrors. Call with mu held (or before the
// spool is shared).
func (sp *spool) publish() {
	sp.detourFlag.Store(sp.detour)
	sp.totalBytes.Store(sp.total)
	sp.segCount.Store(int64(len(sp.segs)))
}

// detoured reports whether live events currently go to the spool.
func (sp *spool) detoured() bool { return sp.detourFlag.Load() }

// append writes recs to the spool in order, as far as space allows, and
// returns what happened to each. With setDetour, live events go to the
// spool from now on until the replayer empties it. With onlyIfDetour,
// nothing is written unless live events currently go to the spool; ok is
// false then and the caller sends to Kafka instead.
func (sp *spool) append(recs []spoolRecord, setDetour, onlyIfDetour bool) (res appendResult, ok bool) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if onlyIfDetour && !sp.detour {
		return res, false
	}
	if sp.closed {
		res.failed = len(recs)
		return res, true
	}
	sp.wbuf = sp.wbuf[:0]
	pending := 0 // records encoded in wbuf
	for i := range recs {
		n := int64(recs[i].encodedSize())
		used := sp.total + int64(len(sp.wbuf))
		if sp.active == nil {
			used += segmentHeaderSize
		}
		if used+n > sp.cfg.maxBytes {
			res.full = len(recs) - i
			break
		}
		if sp.active != nil && sp.active.size+int64(len(sp.wbuf)) > segmentHeaderSize &&
			sp.active.size+int64(len(sp.wbuf))+n > sp.cfg.segmentBytes {
			sp.flushLocked(&res, pending)
			pending = 0
			sp.sealLocked()
			if sp.total+segmentHeaderSize+n > sp.cfg.maxBytes {
				res.full = len(recs) - i
				break
			}
		}
		if sp.active == nil {
			if err := sp.createLocked(); err != nil {
				res.failed += len(recs) - i
				break
			}
		}
		sp.wbuf = appendRecord(sp.wbuf, &recs[i])
		pending++
	}
	sp.flushLocked(&res, pending)
	if setDetour && res.written > 0 {
		// Only a spool that holds something can be replayed: with a
		// broken disk, live events keep going to Kafka.
		sp.detour = true
	}
	if res.written > 0 && sp.cfg.syncInterval < 0 {
		sp.syncActiveLocked()
	}
	sp.publish()
	if res.written > 0 {
		select {
		case sp.kick <- struct{}{}:
		default:
		}
	}
	return res, true
}

// flushLocked writes wbuf, holding pending records, at the end of the
// active segment.
func (sp *spool) flushLocked(res *appendResult, pending int) {
	if pending == 0 {
		return
	}
	a := sp.active
	if _, err := a.f.WriteAt(sp.wbuf, a.size); err != nil {
		res.failed += pending
		sp.writeFailed("cannot write spool segment", a.path, err)
		// Cut off whatever part was written; if even that fails, seal the
		// segment at its last good size: readers never look past size,
		// and a restart treats the garbage as a torn tail.
		if terr := a.f.Truncate(a.size); terr != nil {
			sp.sealLocked()
		}
		sp.wbuf = sp.wbuf[:0]
		return
	}
	a.size += int64(len(sp.wbuf))
	sp.total += int64(len(sp.wbuf))
	sp.dirty = true
	res.written += pending
	sp.wbuf = sp.wbuf[:0]
	if sp.failing {
		sp.failing = false
		sp.cfg.log.Info("spool writes succeed again", zap.String("path", a.path))
	}
}

// writeFailed logs the first of a run of failed spool writes; the drops
// themselves are counted by the caller.
func (sp *spool) writeFailed(msg, path string, err error) {
	if sp.failing {
		return
	}
	sp.failing = true
	sp.cfg.log.Error(msg+"; dropping events until the spool is writable again",
		zap.String("path", path), zap.Error(err))
}

// createLocked starts a new active segment.
func (sp *spool) createLocked() error {
	seq := sp.nextSeq
	path := sp.segPath(seq)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		sp.writeFailed("cannot create spool segment", path, err)
		return fmt.Errorf("cannot create spool segment %q: %w", path, err)
	}
	if _, err := f.WriteAt([]byte(segmentMagic), 0); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		sp.writeFailed("cannot write spool segment header", path, err)
		return fmt.Errorf("cannot write spool segment header %q: %w", path, err)
	}
	// Make the new name durable so an OS crash cannot lose a whole
	// segment that was fsynced later.
	syncDir(sp.cfg.dir)
	sp.nextSeq++
	s := &segment{seq: seq, path: path, size: segmentHeaderSize, f: f}
	sp.segs = append(sp.segs, s)
	sp.active = s
	sp.total += segmentHeaderSize
	sp.dirty = true
	if len(sp.segs) == 1 && sp.ackSeq < seq {
		// Reading starts at the beginning of the first segment.
		sp.ackSeq, sp.ackOff = seq, segmentHeaderSize
	}
	return nil
}

// sealLocked fsyncs and closes the active segment; it stays in segs for
// the replayer.
func (sp *spool) sealLocked() {
	a := sp.active
	if a == nil {
		return
	}
	if err := a.f.Sync(); err != nil {
		sp.cfg.log.Error("cannot sync spool segment", zap.String("path", a.path), zap.Error(err))
	}
	if err := a.f.Close(); err != nil {
		sp.cfg.log.Error("cannot close spool segment", zap.String("path", a.path), zap.Error(err))
	}
	a.f = nil
	sp.active = nil
}

func (sp *spool) syncActiveLocked() {
	if sp.active == nil || !sp.dirty {
		return
	}
	if err := sp.active.f.Sync(); err != nil {
		sp.cfg.log.Error("cannot sync spool segment", zap.String("path", sp.active.path), zap.Error(err))
	}
	sp.dirty = false
}

// sync fsyncs the active segment if it was written since the last sync.
// The fsync runs without holding the lock, so appends are not held up by a
// slow disk; a segment sealed meanwhile was fsynced by sealing.
func (sp *spool) sync() {
	sp.mu.Lock()
	if sp.active == nil || !sp.dirty {
		sp.mu.Unlock()
		return
	}
	f, path := sp.active.f, sp.active.path
	sp.dirty = false
	sp.mu.Unlock()
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
		sp.cfg.log.Error("cannot sync spool segment", zap.String("path", path), zap.Error(err))
	}
}

// ack records that Kafka acknowledged every record before offset off of
// segment seq. Segments entirely before that point are deleted; when
// nothing is left, the detour ends.
func (sp *spool) ack(seq uint64, off int64) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.ackSeq, sp.ackOff = seq, off
	keep := sp.segs[:0]
	for _, s := range sp.segs {
		done := s.seq < seq || (s.seq == seq && off >= s.size)
		if !done || sp.closed {
			keep = append(keep, s)
			continue
		}
		if s == sp.active {
			if err := s.f.Close(); err != nil {
				sp.cfg.log.Error("cannot close spool segment", zap.String("path", s.path), zap.Error(err))
			}
			s.f = nil
			sp.active = nil
		}
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			// Leave it: a restart replays it again (duplicates, no loss).
			sp.cfg.log.Error("cannot remove replayed spool segment", zap.String("path", s.path), zap.Error(err))
		}
		sp.total -= s.size
	}
	for i := len(keep); i < len(sp.segs); i++ {
		sp.segs[i] = nil
	}
	sp.segs = keep
	if len(sp.segs) == 0 && sp.canClear {
		sp.detour = false
	}
	sp.publish()
}

// forget drops a segment whose file is gone from the bookkeeping.
func (sp *spool) forget(seq uint64) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for i, s := range sp.segs {
		if s.seq != seq {
			continue
		}
		if s == sp.active {
			// Appends to an unlinked file would be lost: start afresh.
			sp.sealLocked()
		}
		sp.total -= s.size
		sp.segs = append(sp.segs[:i], sp.segs[i+1:]...)
		break
	}
	sp.publish()
}

// close fsyncs and closes the active segment, saves the replay position
// and releases the directory lock.
func (sp *spool) close() error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.closed {
		return nil
	}
	sp.closed = true
	var errs []error
	if a := sp.active; a != nil {
		if err := a.f.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("cannot sync spool segment %q: %w", a.path, err))
		}
		if err := a.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("cannot close spool segment %q: %w", a.path, err))
		}
		a.f = nil
		sp.active = nil
	}
	sp.rd.closeFile()
	if len(sp.segs) > 0 {
		if err := sp.saveCursorLocked(); err != nil {
			errs = append(errs, err)
		}
	} else {
		_ = os.Remove(filepath.Join(sp.cfg.dir, cursorFileName))
	}
	if err := unlockDir(sp.lock); err != nil {
		errs = append(errs, fmt.Errorf("cannot unlock spool dir %q: %w", sp.cfg.dir, err))
	}
	return errors.Join(errs...)
}

// cursor file: seq uint64, off int64, CRC-32C of both; little-endian.
func (sp *spool) saveCursorLocked() error {
	var b [20]byte
	binary.LittleEndian.PutUint64(b[0:8], sp.ackSeq)
	binary.LittleEndian.PutUint64(b[8:16], uint64(sp.ackOff))
	binary.LittleEndian.PutUint32(b[16:20], crc32.Checksum(b[:16], castagnoli))
	path := filepath.Join(sp.cfg.dir, cursorFileName)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b[:], 0o644); err != nil {
		return fmt.Errorf("cannot write spool cursor %q: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("cannot replace spool cursor %q: %w", path, err)
	}
	return nil
}

// saveCursor persists the replay position so a restart does not replay
// acknowledged records again. Losing it only causes duplicates.
func (sp *spool) saveCursor() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.closed || len(sp.segs) == 0 {
		return
	}
	if err := sp.saveCursorLocked(); err != nil {
		sp.cfg.log.Warn("cannot save spool cursor", zap.Error(err))
	}
}

func (sp *spool) readCursor() (uint64, int64, bool) {
	b, err := os.ReadFile(filepath.Join(sp.cfg.dir, cursorFileName))
	if err != nil || len(b) != 20 || crc32.Checksum(b[:16], castagnoli) != binary.LittleEndian.Uint32(b[16:20]) {
		return 0, 0, false
	}
	return binary.LittleEndian.Uint64(b[0:8]), int64(binary.LittleEndian.Uint64(b[8:16])), true
}

// chunk is a run of consecutive spooled records returned by next. Keys and
// values alias the reader's buffer and stay valid until the next call to
// next.
type chunk struct {
	recs    []spoolRecord
	seq     uint64 // segment the chunk ends in
	end     int64  // offset just after the chunk in that segment
	corrupt int    // corrupt regions skipped inside the chunk
}

// spoolReader walks the spool in order for the replayer.
type spoolReader struct {
	sp  *spool
	seq uint64 // segment being read
	off int64  // file offset of the next unread byte
	f   *os.File
	// buf holds file bytes [bufOff, bufOff+len(buf)) of segment seq; pos
	// indexes the next unparsed byte.
	buf    []byte
	bufOff int64
	pos    int
	recs   []spoolRecord
	// lost counts segments that disappeared before they were read; next
	// reports them as corrupt.
	lost int
}

// next returns up to maxRecs records following the last chunk. An empty
// chunk with no corrupt regions means the reader has caught up with the
// writers.
func (r *spoolReader) next(maxRecs int) (chunk, error) {
	c := chunk{recs: r.recs[:0]}
	for {
		if r.pos < len(r.buf) {
			for len(c.recs) < maxRecs && r.pos < len(r.buf) {
				rec, n, ok := decodeRecord(r.buf[r.pos:])
				if ok {
					c.recs = append(c.recs, rec)
					r.pos += n
					continue
				}
				c.corrupt++
				r.pos = resync(r.buf, r.pos+1)
			}
			r.off = r.bufOff + int64(r.pos)
			c.seq, c.end = r.seq, r.off
			r.recs = c.recs
			return c, nil
		}
		more, err := r.refill()
		c.corrupt += r.lost
		r.lost = 0
		if err != nil || !more {
			c.seq, c.end = r.seq, r.off
			return c, err
		}
	}
}

// refill loads the unread bytes of the current segment, moving on to the
// next segment when the current one is sealed and fully read. It returns
// false when there is nothing new to read.
func (r *spoolReader) refill() (bool, error) {
	sp := r.sp
	for {
		sp.mu.Lock()
		var s *segment
		for _, cand := range sp.segs {
			if cand.seq >= r.seq {
				s = cand
				break
			}
		}
		if s == nil {
			sp.mu.Unlock()
			return false, nil
		}
		if s.seq != r.seq {
			r.closeFile()
			r.seq, r.off = s.seq, segmentHeaderSize
		}
		size, sealed := s.size, s != sp.active
		sp.mu.Unlock()

		if r.off >= size {
			if !sealed {
				return false, nil
			}
			// A sealed segment read to its end: step to the next one.
			r.closeFile()
			r.seq, r.off = r.seq+1, segmentHeaderSize
			continue
		}
		if r.f == nil {
			f, err := os.Open(sp.segPath(r.seq))
			if errors.Is(err, os.ErrNotExist) {
				// Removed behind our back: nothing to replay from it.
				sp.cfg.log.Error("spool segment vanished; skipping it", zap.String("path", sp.segPath(r.seq)))
				sp.forget(r.seq)
				r.lost++
				r.seq, r.off = r.seq+1, segmentHeaderSize
				continue
			}
			if err != nil {
				return false, fmt.Errorf("cannot open spool segment %q: %w", sp.segPath(r.seq), err)
			}
			r.f = f
		}
		n := int(size - r.off)
		if cap(r.buf) < n {
			r.buf = make([]byte, n)
		}
		r.buf = r.buf[:n]
		if _, err := r.f.ReadAt(r.buf, r.off); err != nil {
			r.buf = r.buf[:0]
			return false, fmt.Errorf("cannot read spool segment %q: %w", sp.segPath(r.seq), err)
		}
		r.bufOff, r.pos = r.off, 0
		return true, nil
	}
}

func (r *spoolReader) closeFile() {
	if r.f != nil {
		_ = r.f.Close()
		r.f = nil
	}
	r.buf, r.bufOff, r.pos = r.buf[:0], 0, 0
}
