package bench

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func sampleResults(t *testing.T) []*Result {
	t.Helper()
	target := startBaseline(t)
	var out []*Result
	for _, name := range []string{"edge <1>", "baseline"} {
		res, err := Run(context.Background(), Config{Target: target, Traffic: testTraffic(t), Name: name, Connections: 2, Duration: 150 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, res)
	}
	return out
}

func TestWriteChart(t *testing.T) {
	results := sampleResults(t)
	var b bytes.Buffer
	if err := WriteChart(&b, "latency & more", results); err != nil {
		t.Fatal(err)
	}
	// Well-formed XML, one line per result, names escaped.
	d := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	lines := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v\n%s", err, b.String())
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			lines++
		}
	}
	if lines != 2 {
		t.Fatalf("unexpected polylines; got %d; want 2", lines)
	}
	if !strings.Contains(b.String(), "edge &lt;1&gt;") || !strings.Contains(b.String(), "99.9%") {
		t.Fatalf("chart lacks the escaped legend or the percentile axis:\n%s", b.String())
	}
}

func TestReportRoundTripAndText(t *testing.T) {
	results := sampleResults(t)
	c := Compare(results[0], results[1])
	rep := &Report{RunID: "r1", Results: results, Comparison: &c, Verify: &Verification{Topic: "clicks", Served: 10, Delivered: 9, Lost: 1}}
	path := filepath.Join(t.TempDir(), "r.json")
	if err := rep.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	got, err := ReadReport(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Results[0].Requests != results[0].Requests || got.Results[1].Latency != results[1].Latency || got.Verify.Lost != 1 {
		t.Fatalf("report did not survive JSON: %+v", got)
	}
	var text bytes.Buffer
	got.WriteText(&text)
	for _, want := range []string{"p99.9", "edge <1>", "req/s ratio", "lost 1", "LOST EVENTS"} {
		if !strings.Contains(text.String(), want) {
			t.Fatalf("text report lacks %q:\n%s", want, text.String())
		}
	}
	if strings.Contains(text.String(), "after the schedule") {
		t.Fatalf("closed-loop text report has a send lag:\n%s", text.String())
	}
	// An open-loop result says how late the generator sent.
	got.Results[1].SendLag = &Latency{P50: 0.01, P99: 0.25, P999: 1.5}
	text.Reset()
	got.WriteText(&text)
	if want := "baseline: sent p50 0.010ms, p99 0.250ms, p99.9 1.500ms after the schedule"; !strings.Contains(text.String(), want) {
		t.Fatalf("text report lacks %q:\n%s", want, text.String())
	}
	var md bytes.Buffer
	WriteMarkdown(&md, "Run", []*Report{got}, "latency.svg")
	for _, want := range []string{"# Run", "![latency percentiles](latency.svg)", "| edge <1> |", "| baseline |", "lost **1**", "- baseline: sent p50 0.010ms, p99 0.250ms"} {
		if !strings.Contains(md.String(), want) {
			t.Fatalf("Markdown report lacks %q:\n%s", want, md.String())
		}
	}
	if _, err := ReadReport(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "cannot read report") {
		t.Fatalf("unexpected error for a missing report; got %v", err)
	}
}

func TestFormatCount(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := formatCount(in); got != want {
			t.Fatalf("unexpected formatCount(%d); got %q; want %q", in, got, want)
		}
	}
}

func TestBroker(t *testing.T) {
	b, err := StartBroker(BrokerConfig{Listen: "127.0.0.1:0", Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	v, err := NewVerifier(context.Background(), VerifyConfig{Brokers: []string{b.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.start) != 2 {
		t.Fatalf("unexpected partitions of the broker's topic; got %v; want 2", v.start)
	}
	// Small log segments: kfake grows a segment's buffer by doubling it,
	// and a 64 MiB copy stalls the core the broker shares.
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrDescribeConfigsRequest()
	res := kmsg.NewDescribeConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeBroker, "0"
	req.Resources = append(req.Resources, res)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	var seg string
	for _, r := range resp.Resources {
		for _, c := range r.Configs {
			if c.Name == "log.segment.bytes" && c.Value != nil {
				seg = *c.Value
			}
		}
	}
	if seg != strconv.Itoa(segmentBytes) {
		t.Fatalf("unexpected log.segment.bytes of the broker; got %q; want %d", seg, segmentBytes)
	}
	if _, err := StartBroker(BrokerConfig{Listen: b.Addr()}); err == nil {
		t.Fatal("a second broker on a taken address started")
	}
	if _, err := StartBroker(BrokerConfig{Listen: "127.0.0.1:0", Partitions: -1}); err == nil {
		t.Fatal("a broker with -1 partitions started")
	}
}

func TestNewBaselineRejectsRelativeLocation(t *testing.T) {
	if _, err := NewBaseline(BaselineConfig{Location: "/relative"}); err == nil || !strings.Contains(err.Error(), "absolute URL") {
		t.Fatalf("unexpected error; got %v", err)
	}
}
