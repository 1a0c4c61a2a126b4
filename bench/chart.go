package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// chartColors are the line colours, one per result, in order.
var chartColors = []string{"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"}

// WriteChart writes an SVG chart of the latency distributions of results:
// latency (logarithmic, milliseconds) over percentile (logarithmic in the
// number of nines, as HdrHistogram plots it), one line per result, the
// maximum drawn at the right edge.
func WriteChart(w io.Writer, title string, results []*Result) error {
	const (
		width, height            = 860, 480
		left, right, top, bottom = 70, 200, 40, 50
	)
	plotW, plotH := float64(width-left-right), float64(height-top-bottom)
	nines := func(p float64) float64 {
		if p >= 100 {
			return math.Inf(1)
		}
		return math.Log10(100 / (100 - p))
	}
	xMax, yMin, yMax := 2.0, math.Inf(1), math.Inf(-1)
	for _, r := range results {
		for _, pt := range r.Percentiles {
			if x := nines(pt.Percentile); !math.IsInf(x, 1) {
				xMax = math.Max(xMax, math.Ceil(x-1e-9))
			}
			if pt.Ms > 0 {
				yMin, yMax = math.Min(yMin, pt.Ms), math.Max(yMax, pt.Ms)
			}
		}
	}
	if math.IsInf(yMin, 1) {
		yMin, yMax = 0.01, 1
	}
	lo, hi := math.Floor(math.Log10(yMin)), math.Ceil(math.Log10(yMax))
	if hi <= lo {
		hi = lo + 1
	}
	px := func(x float64) float64 {
		if math.IsInf(x, 1) || x > xMax {
			x = xMax
		}
		return float64(left) + x/xMax*plotW
	}
	py := func(ms float64) float64 {
		ms = math.Max(ms, math.Pow(10, lo))
		return float64(top) + plotH - (math.Log10(ms)-lo)/(hi-lo)*plotH
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(title))
	for e := lo; e <= hi; e++ {
		y := py(math.Pow(10, e))
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, y, float64(left)+plotW, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y+4, formatAxisMs(math.Pow(10, e)))
	}
	for x := 0.0; x <= xMax; x++ {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", px(x), top, px(x), float64(top)+plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", px(x), float64(top)+plotH+16, ninesLabel(x))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">percentile (max at the right edge)</text>`+"\n", float64(left)+plotW/2, height-12)
	fmt.Fprintf(&b, `<text x="16" y="%.1f" text-anchor="middle" transform="rotate(-90 16 %.1f)">latency (ms, log scale)</text>`+"\n", float64(top)+plotH/2, float64(top)+plotH/2)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%.1f" fill="none" stroke="#444"/>`+"\n", left, top, plotW, plotH)
	for i, r := range results {
		color := chartColors[i%len(chartColors)]
		var pts []string
		for _, pt := range r.Percentiles {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(nines(pt.Percentile)), py(pt.Ms)))
		}
		if len(pts) > 0 {
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", color, strings.Join(pts, " "))
		}
		ly := top + 10 + i*36
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", width-right+12, ly, width-right+36, ly, color)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", width-right+42, ly+4, html.EscapeString(r.Name))
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#555">%s req/s, p99 %s</text>`+"\n", width-right+42, ly+18, formatCount(int64(math.Round(r.RPS))), formatMs(r.Latency.P99))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func ninesLabel(x float64) string {
	if x == 0 {
		return "0%"
	}
	p := 100 - 100/math.Pow(10, x)
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.*f", int(x)-2+1, p), "0"), ".") + "%"
}

func formatAxisMs(ms float64) string {
	if ms >= 1 {
		return fmt.Sprintf("%.0f ms", ms)
	}
	return strings.TrimRight(fmt.Sprintf("%.3f", ms), "0") + " ms"
}

// WriteMarkdown writes a Markdown report of the reports: one table row per
// result, the comparisons (the first result of separate runs against each
// other one) and loss checks, and the chart image when chart
// is not empty (a path relative to the Markdown file).
func WriteMarkdown(w io.Writer, title string, reports []*Report, chart string) {
	fmt.Fprintf(w, "# %s\n\n", title)
	if chart != "" {
		fmt.Fprintf(w, "![latency percentiles](%s)\n\n", chart)
	}
	fmt.Fprintln(w, "| target | load | req/s | p50 | p90 | p99 | p99.9 | max | requests | status | errors |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
	for _, rep := range reports {
		for _, r := range rep.Results {
			mode := fmt.Sprintf("closed, %d conns", r.Connections)
			if r.Mode == "open" {
				mode = fmt.Sprintf("open, %s req/s, %d conns", formatCount(int64(r.Rate)), r.Connections)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				r.Name, mode, formatCount(int64(math.Round(r.RPS))),
				formatMs(r.Latency.P50), formatMs(r.Latency.P90), formatMs(r.Latency.P99), formatMs(r.Latency.P999), formatMs(r.Latency.Max),
				formatCount(r.Requests), formatCounts(r.Status), formatCounts(r.Errors))
		}
	}
	fmt.Fprintln(w)
	lag := false
	for _, rep := range reports {
		for _, r := range rep.Results {
			if l := sendLagLine(r); l != "" {
				fmt.Fprintf(w, "- %s\n", l)
				lag = true
			}
		}
	}
	if lag {
		fmt.Fprintln(w)
	}
	// Results of separate runs are compared with the first one.
	var all []*Result
	for _, rep := range reports {
		if rep.Comparison == nil {
			all = append(all, rep.Results...)
		}
	}
	for _, r := range all[min(1, len(all)):] {
		c := Compare(all[0], r)
		fmt.Fprintf(w, "- %s / %s: req/s ratio **%.3f**, p99 ratio %.2f\n", all[0].Name, r.Name, c.RPSRatio, c.P99Ratio)
	}
	for _, rep := range reports {
		if c := rep.Comparison; c != nil {
			fmt.Fprintf(w, "- %s / %s: req/s ratio **%.3f**, p99 ratio %.2f\n", rep.Results[0].Name, c.Baseline, c.RPSRatio, c.P99Ratio)
		}
		if v := rep.Verify; v != nil {
			verdict := "no event lost"
			if v.Lost > 0 {
				verdict = "**events lost**"
			}
			fmt.Fprintf(w, "- %s, run `%s`: served %s, delivered %s, lost **%s**, duplicates %s (%s)\n",
				rep.Results[0].Name, rep.RunID, formatCount(v.Served), formatCount(v.Delivered), formatCount(v.Lost), formatCount(v.Duplicates), verdict)
		}
	}
}
