package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// Shutdown bounds of `clickedge serve` after -http.shutdownDelay: in-flight
// requests drain for at most 15 s, click events for at most 30 s (see
// waitAndStop in cmd/clickedge and "Shutdown" in the README).
const edgeDrainBound = 45 * time.Second

// probePaths are the internal-listener paths the manifests use, by command;
// testRunning checks each answers 200 on a ready process.
var probePaths = map[string]map[string]bool{}

func addProbePath(cmd, path string) {
	if probePaths[cmd] == nil {
		probePaths[cmd] = map[string]bool{}
	}
	probePaths[cmd][path] = true
}

// readYAML decodes every document of a YAML file.
func readYAML(t testing.TB, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("cannot open %q: %v", path, err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var docs []map[string]any
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return docs
			}
			t.Fatalf("cannot parse %q: %v", path, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
}

// get walks a decoded YAML or JSON value by keys (string) and indexes (int).
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func strList(v any) []string {
	var out []string
	for _, x := range list(v) {
		out = append(out, str(x))
	}
	return out
}

func report(t *testing.T, errs []string) {
	t.Helper()
	for _, e := range errs {
		t.Error(e)
	}
}

// testDockerfile checks the image builds what the Makefile builds, runs it as
// a non-root user, exposes the listeners and health-checks through the
// binary's own healthcheck command with flags it has.
func testDockerfile(t *testing.T) {
	df := parseDockerfile(t)
	rec := makefileBuild(t)

	// The builder runs the Makefile's build target (so the same package,
	// CGO_ENABLED=0, -trimpath and the version stamp), with the version arg.
	var buildRun string
	for _, r := range df.build.run {
		if strings.Contains(r, "make build") {
			buildRun = r
		}
	}
	if buildRun == "" {
		t.Fatalf("unexpected Dockerfile build stage; got RUN %q; want one that runs `make build` (Makefile: %q)", df.build.run, rec.line)
	}
	if !strings.Contains(buildRun, `VERSION="$VERSION"`) || !df.build.args["VERSION"] {
		t.Errorf("unexpected build RUN %q; want ARG VERSION passed as make build VERSION=\"$VERSION\"", buildRun)
	}
	bin := ""
	for _, f := range strings.Fields(buildRun) {
		if strings.HasPrefix(f, "BIN=") {
			bin = strings.TrimPrefix(f, "BIN=")
		}
	}
	if bin == "" || rec.output != "$(BIN)/"+filepath.Base(rec.pkg) {
		t.Errorf("unexpected build output; Dockerfile BIN=%q, Makefile -o %q", bin, rec.output)
	}
	built := bin + "/" + filepath.Base(rec.pkg)
	var copied bool
	for _, c := range df.final.copy {
		if len(c) == 2 && c[0] == built && c[1] == "/clickedge" {
			copied = true
		}
	}
	if !copied {
		t.Errorf("unexpected final stage COPY %q; want %s copied to /clickedge", df.final.copy, built)
	}

	// Go version of the builder image = go.mod's go directive (major.minor).
	gomod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("cannot find the go directive in go.mod")
	}
	if got := df.globalArgs["GO_VERSION"]; got != string(m[1]) || !strings.Contains(df.build.from, "golang:${GO_VERSION}") {
		t.Errorf("unexpected builder image %q with GO_VERSION %q; want golang:${GO_VERSION} with GO_VERSION %s (go.mod)", df.build.from, got, m[1])
	}

	if u := df.final.user; u == "" || u == "root" || u == "0" || strings.HasPrefix(u, "0:") || strings.HasPrefix(u, "root:") {
		t.Errorf("unexpected final USER %q; want a non-root user", u)
	}
	if !strings.Contains(df.final.from, "distroless/static") && df.final.from != "scratch" {
		t.Errorf("unexpected final base %q; want distroless/static or scratch", df.final.from)
	}
	if got := df.final.entrypoint; len(got) != 1 || got[0] != "/clickedge" {
		t.Errorf("unexpected ENTRYPOINT %q; want [\"/clickedge\"]", got)
	}
	cfg, errs := parseArgs(t, "Dockerfile CMD", df.final.cmd, df.final.env)
	report(t, errs)
	if cfg != nil {
		// The image runs the edge and the rollup: EXPOSE is their default
		// listeners, no more, no less.
		listeners := map[int]string{}
		for _, name := range []string{"serve", "rollup"} {
			c, errs := parseArgs(t, "Dockerfile", []string{name}, df.final.env)
			report(t, errs)
			if c == nil {
				continue
			}
			for p, flag := range c.listenPorts() {
				listeners[p] = name + " -" + flag
				if !containsInt(df.final.expose, p) {
					t.Errorf("Dockerfile: port %d (clickedge %s -%s) is not in EXPOSE %v", p, name, flag, df.final.expose)
				}
			}
		}
		for _, p := range df.final.expose {
			if _, ok := listeners[p]; !ok {
				t.Errorf("Dockerfile: EXPOSE %d is no default listener of clickedge (%v)", p, listeners)
			}
		}
		hc := df.final.healthcheck
		if len(hc) < 2 || hc[0] != "/clickedge" || hc[1] != "healthcheck" {
			t.Errorf("unexpected HEALTHCHECK %q; want CMD [\"/clickedge\", \"healthcheck\", ...]", hc)
		} else {
			checkHealthcheck(t, "Dockerfile HEALTHCHECK", hc[1:], df.final.env, cfg)
		}
	}
}

// checkHealthcheck checks a `clickedge healthcheck` invocation probes the
// internal listener of the process it runs next to (cfg). env is the
// container environment, which the healthcheck reads too.
func checkHealthcheck(t *testing.T, where string, args []string, env map[string]string, cfg *config) {
	t.Helper()
	hc, errs := parseArgs(t, where, args, onlyFlagsOf(t, "healthcheck", env))
	report(t, errs)
	if hc == nil {
		return
	}
	if got, want := hc.internalPort(), cfg.internalPort(); got != want {
		t.Errorf("%s probes port %d; want %d, the internal listener of clickedge %s", where, got, want, cfg.cmd.name)
	}
	addProbePath(cfg.cmd.name, hc.value("path"))
}

// onlyFlagsOf keeps the CLICKEDGE_* variables that are flags of command: a
// container's environment holds its main command's settings, which other
// commands ignore.
func onlyFlagsOf(t testing.TB, command string, env map[string]string) map[string]string {
	c := lookupCommand(t, command)
	out := map[string]string{}
	for k, v := range env {
		if _, ok := c.byEnv[k]; ok {
			out[k] = v
		}
	}
	return out
}

func containsInt(l []int, n int) bool {
	for _, x := range l {
		if x == n {
			return true
		}
	}
	return false
}

// dockerStage is one FROM ... stage.
type dockerStage struct {
	from, name, user string
	args             map[string]bool
	run              []string
	copy             [][2]string // from-stage paths: src, dst
	env              map[string]string
	expose           []int
	entrypoint, cmd  []string
	healthcheck      []string
}

type dockerfile struct {
	globalArgs   map[string]string
	build, final *dockerStage
}

// parseDockerfile reads deploy/Dockerfile: continuation lines joined,
// instructions of the build stage (the one named build) and the final stage.
func parseDockerfile(t testing.TB) dockerfile {
	t.Helper()
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatalf("cannot read Dockerfile: %v", err)
	}
	df := dockerfile{globalArgs: map[string]string{}}
	var stages []*dockerStage
	var cur *dockerStage
	var logical []string
	var acc string
	for _, l := range strings.Split(string(b), "\n") {
		tl := strings.TrimSpace(l)
		if strings.HasPrefix(tl, "#") && acc == "" || tl == "" && acc == "" {
			continue
		}
		if strings.HasPrefix(tl, "#") {
			continue
		}
		if strings.HasSuffix(tl, `\`) {
			acc += strings.TrimSuffix(tl, `\`) + " "
			continue
		}
		logical = append(logical, acc+tl)
		acc = ""
	}
	jsonArray := func(s string) []string {
		var a []string
		if err := json.Unmarshal([]byte(s), &a); err != nil {
			t.Fatalf("cannot parse Dockerfile exec form %q: %v", s, err)
		}
		return a
	}
	for _, l := range logical {
		instr, rest, _ := strings.Cut(l, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "FROM":
			f := strings.Fields(rest)
			cur = &dockerStage{args: map[string]bool{}, env: map[string]string{}}
			for i, w := range f {
				if strings.HasPrefix(w, "--") {
					continue
				}
				if strings.EqualFold(w, "AS") && i+1 < len(f) {
					cur.name = f[i+1]
					break
				}
				if cur.from == "" {
					cur.from = w
				}
			}
			stages = append(stages, cur)
		case "ARG":
			k, v, _ := strings.Cut(rest, "=")
			if cur == nil {
				df.globalArgs[k] = v
			} else {
				cur.args[k] = true
			}
		case "RUN":
			cur.run = append(cur.run, rest)
		case "COPY":
			f := strings.Fields(rest)
			var from bool
			var paths []string
			for _, w := range f {
				if strings.HasPrefix(w, "--from=") {
					from = true
				} else if !strings.HasPrefix(w, "--") {
					paths = append(paths, w)
				}
			}
			if from && len(paths) == 2 {
				cur.copy = append(cur.copy, [2]string{paths[0], paths[1]})
			}
		case "ENV":
			k, v, _ := strings.Cut(rest, "=")
			cur.env[k] = v
		case "USER":
			cur.user = rest
		case "EXPOSE":
			for _, p := range strings.Fields(rest) {
				n, err := strconv.Atoi(strings.TrimSuffix(p, "/tcp"))
				if err != nil {
					t.Fatalf("cannot parse EXPOSE %q", rest)
				}
				cur.expose = append(cur.expose, n)
			}
		case "ENTRYPOINT":
			cur.entrypoint = jsonArray(rest)
		case "CMD":
			cur.cmd = jsonArray(rest)
		case "HEALTHCHECK":
			_, c, ok := strings.Cut(rest, "CMD ")
			if !ok {
				t.Fatalf("cannot parse HEALTHCHECK %q; want the exec form CMD [...]", rest)
			}
			cur.healthcheck = jsonArray(strings.TrimSpace(c))
		}
	}
	for _, s := range stages {
		if s.name == "build" {
			df.build = s
		}
	}
	if df.build == nil || len(stages) < 2 {
		t.Fatal("unexpected Dockerfile; want a stage named build and a final stage")
	}
	df.final = stages[len(stages)-1]
	return df
}

// envInterpolation matches ${VAR}, ${VAR:-default} and ${VAR-default} in
// the compose file.
var envInterpolation = regexp.MustCompile(`\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}`)

// composeEnv returns a service's environment with ${VAR:-default} replaced by
// the default, as on a machine that sets none of them.
func composeEnv(v any) map[string]string {
	env := map[string]string{}
	switch e := v.(type) {
	case map[string]any:
		for k, x := range e {
			env[k] = str(x)
		}
	case []any:
		for _, x := range e {
			k, val, _ := strings.Cut(str(x), "=")
			env[k] = val
		}
	}
	for k, v := range env {
		env[k] = envInterpolation.ReplaceAllString(v, "$2")
	}
	return env
}

// isClickedge reports whether a compose service runs the clickedge image.
func isClickedge(svc map[string]any) bool {
	return strings.HasSuffix(str(get(svc, "build", "dockerfile")), "deploy/Dockerfile") ||
		strings.HasPrefix(str(svc["image"]), "clickedge") || strings.Contains(str(svc["image"]), "/clickedge")
}

// testCompose checks every clickedge service of compose.yml: command, flags,
// environment, published ports, health checks, stop grace period, that the
// click topic is created, and that Prometheus scrapes each one on its
// internal listener.
func testCompose(t *testing.T) {
	doc := readYAML(t, "compose.yml")[0]
	df := parseDockerfile(t)
	services, _ := doc["services"].(map[string]any)
	configs := map[string]*config{}
	var names []string
	for name := range services {
		names = append(names, name)
	}
	sort.Strings(names)
	var allCommands string
	for _, name := range names {
		allCommands += strings.Join(strList(get(services, name, "command")), " ") + " \n"
	}
	for _, name := range names {
		svc, _ := services[name].(map[string]any)
		if !isClickedge(svc) {
			continue
		}
		where := "compose.yml service " + name
		if svc["entrypoint"] != nil {
			t.Errorf("%s: sets entrypoint; the image's /clickedge is expected", where)
		}
		args := strList(svc["command"])
		if len(args) == 0 {
			args = df.final.cmd
		}
		env := composeEnv(svc["environment"])
		cfg, errs := parseArgs(t, where, args, env)
		report(t, errs)
		if cfg == nil {
			continue
		}
		configs[name] = cfg
		listen := cfg.listenPorts()
		for _, p := range strList(svc["ports"]) {
			parts := strings.Split(strings.TrimSuffix(p, "/tcp"), ":")
			n, err := strconv.Atoi(parts[len(parts)-1])
			if err != nil {
				t.Errorf("%s: cannot parse port %q", where, p)
				continue
			}
			flag, ok := listen[n]
			if !ok {
				t.Errorf("%s: publishes container port %d, but clickedge %s listens on %v", where, n, cfg.cmd.name, listen)
				continue
			}
			if flag == "http.internalListenAddr" && len(parts) < 3 || flag == "http.internalListenAddr" && parts[0] != "127.0.0.1" {
				t.Errorf("%s: publishes the internal listener as %q; bind it to 127.0.0.1", where, p)
			}
		}
		hc := df.final.healthcheck
		if h := strList(get(svc, "healthcheck", "test")); len(h) > 0 {
			hc = h[1:] // CMD
		}
		if len(hc) > 1 && hc[0] == "/clickedge" {
			checkHealthcheck(t, where+" healthcheck", hc[1:], env, cfg)
		} else {
			t.Errorf("%s: unexpected health check %q; want /clickedge healthcheck", where, hc)
		}
		if cfg.cmd.name == "serve" {
			grace, err := time.ParseDuration(str(svc["stop_grace_period"]))
			if err != nil {
				t.Errorf("%s: cannot parse stop_grace_period %q: %v", where, svc["stop_grace_period"], err)
			} else if min := cfg.duration("http.shutdownDelay") + edgeDrainBound; grace <= min {
				t.Errorf("%s: stop_grace_period %v; want more than -http.shutdownDelay plus the drains, %v", where, grace, min)
			}
			if cfg.value("spool.dir") == "" {
				t.Errorf("%s: no -spool.dir: click events would be dropped while Kafka is away", where)
			}
		}
		if _, ok := cfg.cmd.flags["kafka.topic"]; ok && cfg.value("kafka.brokers") != "" {
			want := "--topic " + cfg.value("kafka.topic") + " "
			if !strings.Contains(allCommands, want) {
				t.Errorf("%s: topic %q is not created by any service (want kafka-topics.sh ... %s)", where, cfg.value("kafka.topic"), want)
			}
		}
	}
	if len(configs) == 0 {
		t.Fatal("compose.yml runs no clickedge service")
	}

	// Prometheus scrapes every clickedge service on its internal listener and
	// loads the alert rules that are mounted into it.
	prom := readYAML(t, "prometheus.yml")[0]
	scraped := map[string]bool{}
	for _, sc := range list(prom["scrape_configs"]) {
		if p := str(get(sc, "metrics_path")); p != "" && p != "/metrics" {
			t.Errorf("prometheus.yml: job %v scrapes %q; clickedge serves /metrics", get(sc, "job_name"), p)
		}
		for _, st := range list(get(sc, "static_configs")) {
			for _, target := range strList(get(st, "targets")) {
				host, port, _ := strings.Cut(target, ":")
				cfg := configs[host]
				if cfg == nil {
					t.Errorf("prometheus.yml: target %q is no clickedge service of compose.yml", target)
					continue
				}
				if port != strconv.Itoa(cfg.internalPort()) {
					t.Errorf("prometheus.yml: target %q; want port %d, the internal listener of %s", target, cfg.internalPort(), host)
				}
				scraped[host] = true
				addProbePath(cfg.cmd.name, "/metrics")
			}
		}
	}
	for name := range configs {
		if !scraped[name] {
			t.Errorf("prometheus.yml: compose service %s is not scraped", name)
		}
	}
	mounts := strings.Join(strList(get(services, "prometheus", "volumes")), "\n")
	for _, rf := range strList(prom["rule_files"]) {
		if !strings.Contains(mounts, "./"+filepath.Base(rf)+":"+rf) {
			t.Errorf("prometheus.yml: rule file %q is not mounted from deploy/%s in compose.yml", rf, filepath.Base(rf))
		}
	}
}
