package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Result is what one load run against one target measured.
type Result struct {
	// Name labels the target.
	Name string `json:"name"`
	// Target is the target's base URL.
	Target string `json:"target"`
	// RunID is the subId1 every request carried.
	RunID string `json:"run_id"`
	// Mode is "closed" (Connections workers back to back) or "open" (Rate).
	Mode string `json:"mode"`
	// Connections is the number of connections.
	Connections int `json:"connections"`
	// Rate is the open-loop request rate asked for, requests/s.
	Rate float64 `json:"rate,omitempty"`
	// Seconds is the measured window, from the end of the warmup to the last
	// answer.
	Seconds float64 `json:"seconds"`
	// Requests is the number of answers to requests sent in the measured
	// window.
	Requests int64 `json:"requests"`
	// RPS is Requests per second of the measured window.
	RPS float64 `json:"rps"`
	// Latency summarises the measured latencies.
	Latency Latency `json:"latency"`
	// SendLag (open loop) summarises how late the load generator took up
	// each measured request after its scheduled time (it then sends it at
	// once, after a reconnect if the connection was closed), which
	// Latency includes: when it is a large part of Latency, the
	// generator, not the target, was the limit.
	SendLag *Latency `json:"send_lag,omitempty"`
	// Percentiles is the latency distribution for charts.
	Percentiles []Percentile `json:"percentiles"`
	// Status counts measured answers by HTTP status code.
	Status map[string]int64 `json:"status"`
	// Errors counts measured requests that got no answer within the
	// run's Timeout, by kind: timeout, connection_refused,
	// connection_closed, not_sent_behind_schedule (open loop), other.
	Errors map[string]int64 `json:"errors"`
	// FirstError is the message of the first error of kind "other".
	FirstError string `json:"first_error,omitempty"`
	// Sent is every request sent, warmup included.
	Sent int64 `json:"sent"`
	// Served is every answer received, warmup included: with an edge, the
	// number of click events it should have emitted.
	Served int64 `json:"served"`
}

// Latency holds latency statistics in milliseconds, from an HDR histogram
// with three significant digits.
type Latency struct {
	// Mean is the mean latency.
	Mean float64 `json:"mean_ms"`
	// P50, P90, P99 and P999 are the 50th, 90th, 99th and 99.9th percentiles.
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p99_9_ms"`
	// Max is the largest latency.
	Max float64 `json:"max_ms"`
}

// Percentile is one point of a latency distribution.
type Percentile struct {
	// Percentile is in [0, 100].
	Percentile float64 `json:"percentile"`
	// Ms is the latency at Percentile, in milliseconds.
	Ms float64 `json:"ms"`
}

// chartPercentiles are the points kept for charts: dense towards the tail,
// where the percentile axis is logarithmic.
var chartPercentiles = func() []float64 {
	var p []float64
	for _, nines := range []float64{0, 1, 2, 3, 4, 5} {
		base := 100 - 100/math.Pow(10, nines)
		next := 100 - 100/math.Pow(10, nines+1)
		for i := 0; i < 10; i++ {
			p = append(p, base+(next-base)*float64(i)/10)
		}
	}
	return append(p, 100)
}()

func (r *Result) setHistogram(h *hdrhistogram.Histogram) {
	if h.TotalCount() == 0 {
		return
	}
	r.Latency = latencyOf(h)
	total := h.TotalCount()
	for _, p := range chartPercentiles {
		// Past the resolution of the sample count the curve is flat: stop
		// at the last point that at least one request stands for.
		if p < 100 && (100-p)/100*float64(total) < 1 {
			continue
		}
		r.Percentiles = append(r.Percentiles, Percentile{Percentile: p, Ms: ms(h.ValueAtPercentile(p))})
	}
}

// latencyOf summarises a histogram of microseconds in milliseconds.
func latencyOf(h *hdrhistogram.Histogram) Latency {
	return Latency{
		Mean: math.Round(h.Mean()) / 1000,
		P50:  ms(h.ValueAtPercentile(50)),
		P90:  ms(h.ValueAtPercentile(90)),
		P99:  ms(h.ValueAtPercentile(99)),
		P999: ms(h.ValueAtPercentile(99.9)),
		Max:  ms(h.Max()),
	}
}

// ms converts microseconds to milliseconds.
func ms(us int64) float64 { return float64(us) / 1000 }

// sendLagLine describes an open-loop result's send lag; empty for a closed
// loop.
func sendLagLine(r *Result) string {
	if r.SendLag == nil {
		return ""
	}
	return fmt.Sprintf("%s: sent p50 %s, p99 %s, p99.9 %s after the schedule (the load generator's own lateness, part of the latency)",
		r.Name, formatMs(r.SendLag.P50), formatMs(r.SendLag.P99), formatMs(r.SendLag.P999))
}

// ErrorCount is the number of measured requests without an answer.
func (r *Result) ErrorCount() int64 {
	var n int64
	for _, v := range r.Errors {
		n += v
	}
	return n
}

// Comparison is the primary target's result set against a baseline's.
type Comparison struct {
	// Baseline is the name of the baseline target.
	Baseline string `json:"baseline"`
	// RPSRatio is the primary's requests/s over the baseline's.
	RPSRatio float64 `json:"rps_ratio"`
	// P99Ratio is the primary's p99 latency over the baseline's.
	P99Ratio float64 `json:"p99_ratio"`
}

// Compare compares r against baseline.
func Compare(r, baseline *Result) Comparison {
	c := Comparison{Baseline: baseline.Name}
	if baseline.RPS > 0 {
		c.RPSRatio = r.RPS / baseline.RPS
	}
	if baseline.Latency.P99 > 0 {
		c.P99Ratio = r.Latency.P99 / baseline.Latency.P99
	}
	return c
}

// Report is the JSON document of one clickbench invocation.
type Report struct {
	// RunID is the subId1 of the run.
	RunID string `json:"run_id"`
	// Results are the primary target's result, then the baseline's, if any.
	Results []*Result `json:"results"`
	// Comparison compares the primary target with the baseline, if any.
	Comparison *Comparison `json:"comparison,omitempty"`
	// Verify is the loss check, if asked for.
	Verify *Verification `json:"verify,omitempty"`
}

// WriteJSON writes rep to path, indented.
func (rep *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("cannot encode report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("cannot write report %q: %w", path, err)
	}
	return nil
}

// ReadReport reads a report written by WriteJSON.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read report %q: %w", path, err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("cannot decode report %q: %w", path, err)
	}
	if len(rep.Results) == 0 {
		return nil, fmt.Errorf("cannot use report %q: it has no results", path)
	}
	return &rep, nil
}

// WriteText writes the human-readable summary: a table of the results, the
// comparison and the loss check.
func (rep *Report) WriteText(w io.Writer) {
	tw := newTable("target", "mode", "req/s", "p50", "p90", "p99", "p99.9", "max", "requests", "status", "errors")
	for _, r := range rep.Results {
		mode := fmt.Sprintf("closed %d", r.Connections)
		if r.Mode == "open" {
			mode = fmt.Sprintf("open %s/s", formatCount(int64(r.Rate)))
		}
		tw.row(r.Name, mode, formatCount(int64(math.Round(r.RPS))),
			formatMs(r.Latency.P50), formatMs(r.Latency.P90), formatMs(r.Latency.P99), formatMs(r.Latency.P999), formatMs(r.Latency.Max),
			formatCount(r.Requests), formatCounts(r.Status), formatCounts(r.Errors))
	}
	tw.write(w)
	for _, r := range rep.Results {
		if l := sendLagLine(r); l != "" {
			fmt.Fprintf(w, "%s\n", l)
		}
	}
	for _, r := range rep.Results {
		if r.FirstError != "" {
			fmt.Fprintf(w, "%s: first other error: %s\n", r.Name, r.FirstError)
		}
	}
	if c := rep.Comparison; c != nil {
		fmt.Fprintf(w, "\n%s / %s: req/s ratio %.3f, p99 ratio %.2f\n", rep.Results[0].Name, c.Baseline, c.RPSRatio, c.P99Ratio)
	}
	if v := rep.Verify; v != nil {
		fmt.Fprintf(w, "\nclick events of run %s on topic %q: served %s, delivered %s, lost %s",
			rep.RunID, v.Topic, formatCount(v.Served), formatCount(v.Delivered), formatCount(v.Lost))
		if v.Duplicates > 0 {
			fmt.Fprintf(w, ", duplicates %s", formatCount(v.Duplicates))
		}
		if v.Unexpected > 0 {
			fmt.Fprintf(w, ", delivered beyond served %s (answers the client gave up on)", formatCount(v.Unexpected))
		}
		if v.Lost == 0 {
			fmt.Fprintln(w, "  OK")
		} else {
			fmt.Fprintln(w, "  LOST EVENTS")
		}
	}
}

// formatMs prints milliseconds with three significant decimals.
func formatMs(ms float64) string {
	switch {
	case ms >= 100:
		return strconv.FormatFloat(ms, 'f', 0, 64) + "ms"
	case ms >= 10:
		return strconv.FormatFloat(ms, 'f', 1, 64) + "ms"
	}
	return strconv.FormatFloat(ms, 'f', 3, 64) + "ms"
}

// formatCount prints n with thousands separators.
func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func formatCounts(m map[string]int64) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ":" + formatCount(m[k])
	}
	return strings.Join(parts, " ")
}

// table is a left-aligned text table.
type table struct{ rows [][]string }

func newTable(header ...string) *table { return &table{rows: [][]string{header}} }

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w io.Writer) {
	widths := make([]int, len(t.rows[0]))
	for _, r := range t.rows {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	for _, r := range t.rows {
		var b strings.Builder
		for i, c := range r {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-len(c)))
			}
		}
		fmt.Fprintln(w, b.String())
	}
}
