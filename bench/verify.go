package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/clickedge/clickedge/tracking"
)

// VerifyConfig configures the loss check of a run's click events.
type VerifyConfig struct {
	// Brokers are Kafka bootstrap addresses. Required.
	Brokers []string
	// Topic is the click events topic. Default: "clicks".
	Topic string
	// Timeout bounds the wait for every served click to arrive.
	// Default: 60s.
	Timeout time.Duration
	// Quiet ends the wait early once no new event of the run arrived for
	// this long (a lost event never arrives). Default: 10s.
	Quiet time.Duration
}

// Verification is the result of a loss check.
type Verification struct {
	// Topic is the topic read.
	Topic string `json:"topic"`
	// Served is the number of answers the load generator received: one click
	// event each.
	Served int64 `json:"served"`
	// Delivered is the number of distinct click events of the run on the
	// topic (subid1 = run ID).
	Delivered int64 `json:"delivered"`
	// Lost is Served minus Delivered, when positive. It must be 0.
	Lost int64 `json:"lost"`
	// Duplicates counts events of the run seen more than once (same id):
	// the stream is at-least-once.
	Duplicates int64 `json:"duplicates"`
	// Unexpected is Delivered minus Served, when positive: clicks the edge
	// served whose answers the load generator gave up on (timeouts).
	Unexpected int64 `json:"unexpected"`
	// Records is the number of records read from the topic, of any run.
	Records int64 `json:"records"`
	// Undecodable counts records of the run that DecodeClick rejected.
	Undecodable int64 `json:"undecodable"`
	// Seconds is how long the check waited and read.
	Seconds float64 `json:"seconds"`
}

// Verifier counts a run's click events on the topic. NewVerifier notes where
// each partition ends before the run, so that Verify reads only what was
// written since.
type Verifier struct {
	cfg   VerifyConfig
	start map[int]int64
}

// NewVerifier connects to the brokers and records the end offset of each
// partition of the topic. Call it before the load starts.
func NewVerifier(ctx context.Context, cfg VerifyConfig) (*Verifier, error) {
	var brokers []string
	for _, b := range cfg.Brokers {
		if b = strings.TrimSpace(b); b != "" {
			brokers = append(brokers, b)
		}
	}
	if len(brokers) == 0 {
		return nil, errors.New("cannot create verifier: no Kafka brokers given")
	}
	cfg.Brokers = brokers
	if cfg.Topic == "" {
		cfg.Topic = "clicks"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.Quiet <= 0 {
		cfg.Quiet = 10 * time.Second
	}
	v := &Verifier{cfg: cfg, start: map[int]int64{}}
	parts, err := v.partitions(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range parts {
		conn, err := v.dialLeader(ctx, p)
		if err != nil {
			return nil, err
		}
		last, err := conn.ReadLastOffset()
		conn.Close()
		if err != nil {
			return nil, fmt.Errorf("cannot read the end offset of %s/%d: %w", cfg.Topic, p, err)
		}
		v.start[p] = last
	}
	return v, nil
}

func (v *Verifier) partitions(ctx context.Context) ([]int, error) {
	var lastErr error
	for _, b := range v.cfg.Brokers {
		conn, err := (&kafka.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", b)
		if err != nil {
			lastErr = err
			continue
		}
		ps, err := conn.ReadPartitions(v.cfg.Topic)
		conn.Close()
		if err != nil {
			lastErr = err
			continue
		}
		var ids []int
		for _, p := range ps {
			ids = append(ids, p.ID)
		}
		sort.Ints(ids)
		if len(ids) == 0 {
			return nil, fmt.Errorf("cannot verify topic %q: it has no partitions", v.cfg.Topic)
		}
		return ids, nil
	}
	return nil, fmt.Errorf("cannot read the partitions of topic %q from %q: %w", v.cfg.Topic, v.cfg.Brokers, lastErr)
}

func (v *Verifier) dialLeader(ctx context.Context, p int) (*kafka.Conn, error) {
	var lastErr error
	for _, b := range v.cfg.Brokers {
		conn, err := (&kafka.Dialer{Timeout: 5 * time.Second}).DialLeader(ctx, "tcp", b, v.cfg.Topic, p)
		if err == nil {
			return conn, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("cannot connect to the leader of %s/%d: %w", v.cfg.Topic, p, lastErr)
}

// Verify reads the events written since NewVerifier and counts those of
// runID, waiting until served distinct events arrived, no new one arrived
// for Quiet, or Timeout passed.
func (v *Verifier) Verify(ctx context.Context, runID string, served int64) (*Verification, error) {
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
	defer cancel()
	res := &Verification{Topic: v.cfg.Topic, Served: served}
	c := &counter{needle: []byte(`"subid1":"` + runID + `"`), runID: []byte(runID), ids: map[[26]byte]struct{}{}, other: map[string]struct{}{}}
	next := map[int]int64{}
	conns := map[int]*kafka.Conn{}
	defer func() {
		for _, conn := range conns {
			conn.Close()
		}
	}()
	lastProgress := time.Now()
	for {
		before := c.delivered
		for p, off := range v.start {
			if _, ok := next[p]; !ok {
				next[p] = off
			}
			conn := conns[p]
			if conn == nil {
				var err error
				if conn, err = v.dialLeader(ctx, p); err != nil {
					return nil, err
				}
				conns[p] = conn
			}
			n, err := v.readPartition(ctx, conn, p, next[p], c)
			next[p] = n
			if err != nil {
				conn.Close()
				delete(conns, p)
				if ctx.Err() != nil {
					break
				}
				return nil, err
			}
		}
		if c.delivered > before {
			lastProgress = time.Now()
		}
		if c.delivered >= served || time.Since(lastProgress) >= v.cfg.Quiet || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	res.Delivered, res.Duplicates, res.Records, res.Undecodable = c.delivered, c.duplicates, c.records, c.undecodable
	if served > res.Delivered {
		res.Lost = served - res.Delivered
	} else {
		res.Unexpected = res.Delivered - served
	}
	res.Seconds = time.Since(began).Seconds()
	return res, nil
}

// readPartition reads partition p from offset up to its current end and
// returns the next offset.
func (v *Verifier) readPartition(ctx context.Context, conn *kafka.Conn, p int, offset int64, c *counter) (int64, error) {
	deadline := time.Now().Add(10 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetDeadline(deadline)
	end, err := conn.ReadLastOffset()
	if err != nil {
		return offset, fmt.Errorf("cannot read the end offset of %s/%d: %w", v.cfg.Topic, p, err)
	}
	for offset < end {
		if _, err := conn.Seek(offset, kafka.SeekAbsolute); err != nil {
			return offset, fmt.Errorf("cannot seek %s/%d to %d: %w", v.cfg.Topic, p, offset, err)
		}
		batch := conn.ReadBatchWith(kafka.ReadBatchConfig{MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 500 * time.Millisecond})
		read := 0
		for {
			m, err := batch.ReadMessage()
			if err != nil {
				break
			}
			read++
			if m.Offset >= offset {
				offset = m.Offset + 1
				c.add(m.Value)
			}
		}
		if err := batch.Close(); err != nil && !errors.Is(err, io.EOF) {
			return offset, fmt.Errorf("cannot read %s/%d at %d: %w", v.cfg.Topic, p, offset, err)
		}
		if read == 0 {
			break // nothing more to read now; the next round tries again
		}
	}
	return offset, nil
}

// counter counts distinct click events of one run.
type counter struct {
	needle, runID                               []byte
	click                                       tracking.Click
	ids                                         map[[26]byte]struct{}
	other                                       map[string]struct{}
	records, delivered, duplicates, undecodable int64
}

func (c *counter) add(value []byte) {
	c.records++
	if !bytes.Contains(value, c.needle) {
		return
	}
	if err := tracking.DecodeClick(&c.click, value); err != nil {
		c.undecodable++
		return
	}
	if !bytes.Equal(c.click.SubID1, c.runID) {
		return
	}
	var fresh bool
	if len(c.click.ID) == 26 {
		var k [26]byte
		copy(k[:], c.click.ID)
		if _, dup := c.ids[k]; !dup {
			c.ids[k] = struct{}{}
			fresh = true
		}
	} else if _, dup := c.other[string(c.click.ID)]; !dup {
		c.other[string(c.click.ID)] = struct{}{}
		fresh = true
	}
	if fresh {
		c.delivered++
	} else {
		c.duplicates++
	}
}
