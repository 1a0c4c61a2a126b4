package deploy

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/clickedge/clickedge/emitter/kafkatest"
	"github.com/clickedge/clickedge/linkcache/redistest"
)

// TestManifests checks, in order, the Dockerfile, the Compose stack and the
// Kubernetes manifests against the binary's commands and flags, then runs
// every command they use against a real Redis and a Kafka-protocol broker,
// checks each probe and metrics path they use answers 200, and checks every
// metric the alert rules, the dashboard and the docs name is exported.
func TestManifests(t *testing.T) {
	t.Run("Dockerfile", testDockerfile)
	t.Run("Compose", testCompose)
	t.Run("Kubernetes", testKubernetes)
	var exported series
	t.Run("Running", func(t *testing.T) { exported = testRunning(t) })
	t.Run("Metrics", func(t *testing.T) {
		if exported == nil {
			t.Skip("no metrics: Running failed")
		}
		testMetricReferences(t, exported)
	})
}

// testRunning starts each command the manifests use (at least serve) with
// loopback listeners, checks every path the manifests probe or scrape
// answers 200, and returns the metrics all of them export.
func testRunning(t *testing.T) series {
	redis := redistest.Start(t)
	broker, _ := kafkatest.Start(t, "clicks", 1)
	all := series{}
	cmds := []string{"serve"}
	for c := range probePaths {
		if c != "serve" {
			cmds = append(cmds, c)
		}
	}
	sort.Strings(cmds[1:])
	for _, c := range cmds {
		internal := freeAddr(t)
		var p *process
		switch c {
		case "serve":
			p = start(t, internal, "serve",
				"-http.listenAddr", freeAddr(t),
				"-http.internalListenAddr", internal,
				"-http.shutdownDelay", "0s",
				"-redis.addr", redis.Addr,
				"-kafka.brokers", broker,
				"-spool.dir", t.TempDir(),
				"-admin.token", "test-token",
				"-log.level", "warn")
		case "rollup":
			p = start(t, internal, "rollup",
				"-http.internalListenAddr", internal,
				"-redis.addr", redis.Addr,
				"-kafka.brokers", broker,
				"-log.level", "warn")
		default:
			t.Errorf("manifests run clickedge %s, which this test does not know how to start", c)
			continue
		}
		paths := []string{"/health", "/ready", "/metrics"}
		for path := range probePaths[c] {
			paths = append(paths, path)
		}
		for _, path := range paths {
			if code, body := p.get(t, path); code != http.StatusOK {
				t.Errorf("clickedge %s: GET %s answered %d; want 200: %.200s", c, path, code, body)
			}
		}
		_, text := p.get(t, "/metrics")
		all.merge(parseMetrics(t, text))
	}
	return all
}

var (
	// metricRef is a metric name in PromQL or prose, with its label
	// matchers when it has them.
	metricRef    = regexp.MustCompile(`\b((?:clickedge|go|process)_[a-zA-Z0-9_]*[a-zA-Z0-9])(\{[^}]*\})?`)
	labelMatcher = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!=|!~|=)\s*"([^"]*)"`)
)

// histogramSuffixes are the series a Prometheus histogram family exports.
var histogramSuffixes = []string{"_bucket", "_sum", "_count"}

// checkRef reports whether name (and its label matchers) exists in s.
func checkRef(s series, name, matchers string) string {
	sets, ok := s[name]
	if !ok {
		// A histogram by its family name, or its _bucket, _sum or _count:
		// its labels are the buckets'.
		sets, ok = s[name+"_bucket"]
		for _, suf := range histogramSuffixes {
			if base := strings.TrimSuffix(name, suf); base != name && !ok {
				sets, ok = s[base+"_bucket"]
			}
		}
		if !ok {
			return "no such metric"
		}
	}
	for _, m := range labelMatcher.FindAllStringSubmatch(matchers, -1) {
		label, op, val := m[1], m[2], m[3]
		if op != "=" && op != "=~" {
			continue
		}
		alts := []string{val}
		if op == "=~" {
			if strings.ContainsAny(val, `.*+?()[]\$`) {
				continue // a real regexp; only plain alternatives are checked
			}
			alts = strings.Split(val, "|")
		}
		for _, a := range alts {
			var found bool
			for _, set := range sets {
				found = found || set[label] == a
			}
			if !found {
				return "no series with " + label + "=\"" + a + "\""
			}
		}
	}
	return ""
}

// testMetricReferences checks every metric named by the alert rules, the
// dashboard, the README and the CDN notes against what the processes export.
func testMetricReferences(t *testing.T, s series) {
	type expr struct{ where, text string }
	var exprs []expr
	var alerts []string
	for _, g := range list(readYAML(t, "alerts.yml")[0]["groups"]) {
		for _, r := range list(get(g, "rules")) {
			name := str(get(r, "alert"))
			exprs = append(exprs, expr{"alerts.yml " + name, str(get(r, "expr"))})
			alerts = append(alerts, name)
			if get(r, "annotations", "runbook_url") == nil || get(r, "annotations", "summary") == nil {
				t.Errorf("alerts.yml %s: want summary and runbook_url annotations", name)
			}
		}
	}
	if len(alerts) == 0 {
		t.Fatal("alerts.yml: no alert rules")
	}
	b, err := os.ReadFile("grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash any
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("cannot parse grafana-dashboard.json: %v", err)
	}
	var walk func(v any, where string)
	walk = func(v any, where string) {
		switch x := v.(type) {
		case map[string]any:
			if title, ok := x["title"].(string); ok {
				where = "grafana-dashboard.json panel " + title
			}
			if e, ok := x["expr"].(string); ok {
				exprs = append(exprs, expr{where, e})
			}
			for _, v := range x {
				walk(v, where)
			}
		case []any:
			for _, v := range x {
				walk(v, where)
			}
		}
	}
	walk(dash, "grafana-dashboard.json")
	var panels int
	for _, e := range exprs {
		if strings.HasPrefix(e.where, "grafana") {
			panels++
		}
	}
	if panels == 0 {
		t.Error("grafana-dashboard.json: no panel queries")
	}
	for _, e := range exprs {
		refs := metricRef.FindAllStringSubmatch(e.text, -1)
		if len(refs) == 0 {
			t.Errorf("%s: expression %q names no clickedge metric", e.where, e.text)
		}
		for _, m := range refs {
			if why := checkRef(s, m[1], m[2]); why != "" {
				t.Errorf("%s: %s%s: %s; exported: %v", e.where, m[1], m[2], why, s.names())
			}
		}
	}
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{filepath.Join(repoRoot, "README.md"), "cdn.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range metricRef.FindAllStringSubmatch(string(b), -1) {
			if why := checkRef(s, m[1], ""); why != "" {
				t.Errorf("%s names %s: %s", filepath.Base(doc), m[1], why)
			}
		}
	}
	// Every alert has its runbook section in the README.
	for _, a := range alerts {
		if !strings.Contains(string(readme), "#### "+a+"\n") {
			t.Errorf("README.md: no runbook section \"#### %s\" for alert %s", a, a)
		}
	}
}
