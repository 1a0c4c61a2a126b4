package deploy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// repoRoot is the module root, relative to this package.
const repoRoot = ".."

// buildRecipe is the Makefile's build target: the package it builds and the
// environment it sets.
type buildRecipe struct {
	pkg    string // ./cmd/clickedge
	output string // $(BIN)/clickedge
	line   string
}

// makefileBuild reads the line of the Makefile's build target that builds
// clickedge.
func makefileBuild(t testing.TB) buildRecipe {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatalf("cannot read Makefile: %v", err)
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "build:") {
			continue
		}
		for _, r := range lines[i+1:] {
			if !strings.HasPrefix(r, "\t") {
				break
			}
			f := strings.Fields(r)
			// The recipe may build several binaries; the image ships clickedge.
			if !strings.Contains(r, " build ") || len(f) < 2 || !strings.HasSuffix(f[len(f)-1], "/clickedge") {
				continue
			}
			rec := buildRecipe{pkg: f[len(f)-1], line: strings.TrimSpace(r)}
			for j, w := range f {
				if w == "-o" && j+1 < len(f) {
					rec.output = f[j+1]
				}
			}
			if !strings.HasPrefix(rec.pkg, "./cmd/") || !strings.Contains(r, "CGO_ENABLED=0") {
				t.Fatalf("unexpected Makefile build recipe %q; want a CGO_ENABLED=0 go build of ./cmd/...", rec.line)
			}
			return rec
		}
	}
	t.Fatal("cannot find the build of ./cmd/clickedge in the Makefile's build target")
	return buildRecipe{}
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// clickedge builds, once per test binary, what the Makefile's build target
// builds, and returns the path of the executable.
func clickedge(t testing.TB) string {
	t.Helper()
	rec := makefileBuild(t)
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "clickedge-deploy-test")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "clickedge")
		cmd := exec.Command("go", "build", "-trimpath", "-o", binPath, rec.pkg)
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("cannot build %s: %v\n%s", rec.pkg, err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// flagInfo is one flag as `clickedge <command> -help` prints it.
type flagInfo struct {
	name, env, def string
	bool           bool
}

// command is one subcommand's flags.
type command struct {
	name  string
	flags map[string]flagInfo // by flag name
	byEnv map[string]string   // environment variable → flag name
}

var (
	cmdMu    sync.Mutex
	cmdCache = map[string]*command{}
)

var (
	flagLine = regexp.MustCompile(`^  -(\S+)(?: (\S+))?$`)
	helpLine = regexp.MustCompile(`^\s+\t?(.*?)(?: \(default (.*)\))? \[(CLICKEDGE_[A-Z0-9_]+)\]$`)
	cmdLine  = regexp.MustCompile(`^  ([a-z]+)\s{2,}\S`)
)

// commands lists the binary's subcommands from `clickedge help`.
func commands(t testing.TB) map[string]bool {
	t.Helper()
	out, err := exec.Command(clickedge(t), "help").CombinedOutput()
	if err != nil {
		t.Fatalf("cannot run clickedge help: %v\n%s", err, out)
	}
	m := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		if s := cmdLine.FindStringSubmatch(l); s != nil {
			m[s[1]] = true
		}
	}
	if !m["serve"] {
		t.Fatalf("cannot find serve in clickedge help:\n%s", out)
	}
	return m
}

// lookupCommand returns the flags of a subcommand from its -help, or nil when
// the binary has no such subcommand.
func lookupCommand(t testing.TB, name string) *command {
	t.Helper()
	cmdMu.Lock()
	defer cmdMu.Unlock()
	if c, ok := cmdCache[name]; ok {
		return c
	}
	if !commands(t)[name] {
		cmdCache[name] = nil
		return nil
	}
	out, err := exec.Command(clickedge(t), name, "-help").CombinedOutput()
	if err != nil {
		t.Fatalf("cannot run clickedge %s -help: %v\n%s", name, err, out)
	}
	c := &command{name: name, flags: map[string]flagInfo{}, byEnv: map[string]string{}}
	var cur *flagInfo
	for _, l := range strings.Split(string(out), "\n") {
		if s := flagLine.FindStringSubmatch(strings.TrimRight(l, " ")); s != nil {
			cur = &flagInfo{name: s[1], bool: s[2] == ""}
			continue
		}
		if s := helpLine.FindStringSubmatch(l); s != nil && cur != nil {
			cur.def, cur.env = s[2], s[3]
			if cur.bool && cur.def == "" {
				cur.def = "false"
			}
			c.flags[cur.name] = *cur
			c.byEnv[cur.env] = cur.name
			cur = nil
		}
	}
	if len(c.flags) == 0 {
		t.Fatalf("cannot parse the flags of clickedge %s -help:\n%s", name, out)
	}
	cmdCache[name] = c
	return c
}

// config is the effective configuration of one clickedge process: its
// command, the flags given as arguments and the CLICKEDGE_* environment.
type config struct {
	cmd  *command
	args map[string]string
	env  map[string]string
}

// parseArgs checks args (the command and its flags) and env against the
// binary and returns the effective configuration. Problems are reported as
// errors naming where.
func parseArgs(t testing.TB, where string, args []string, env map[string]string) (*config, []string) {
	t.Helper()
	var errs []string
	if len(args) == 0 {
		return nil, []string{where + ": no clickedge command given"}
	}
	c := lookupCommand(t, args[0])
	if c == nil {
		return nil, []string{fmt.Sprintf("%s: clickedge has no command %q", where, args[0])}
	}
	cfg := &config{cmd: c, args: map[string]string{}, env: map[string]string{}}
	for i := 1; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			errs = append(errs, fmt.Sprintf("%s: unexpected argument %q to clickedge %s", where, a, c.name))
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f, ok := c.flags[name]
		if !ok {
			errs = append(errs, fmt.Sprintf("%s: clickedge %s has no flag -%s", where, c.name, name))
			continue
		}
		if !hasVal && !f.bool {
			if i+1 == len(args) {
				errs = append(errs, fmt.Sprintf("%s: -%s needs a value", where, name))
				continue
			}
			i++
			val = args[i]
		}
		if !hasVal && f.bool {
			val = "true"
		}
		cfg.args[name] = val
	}
	for k, v := range env {
		if !strings.HasPrefix(k, "CLICKEDGE_") {
			continue
		}
		if _, ok := c.byEnv[k]; !ok {
			errs = append(errs, fmt.Sprintf("%s: %s mirrors no flag of clickedge %s", where, k, c.name))
			continue
		}
		cfg.env[k] = v
	}
	return cfg, errs
}

// value returns a flag's effective value: argument, else environment, else
// default.
func (c *config) value(flag string) string {
	if v, ok := c.args[flag]; ok {
		return v
	}
	f, ok := c.cmd.flags[flag]
	if !ok {
		return ""
	}
	if v, ok := c.env[f.env]; ok {
		return v
	}
	return f.def
}

// port returns the port of a listen-address flag, or 0 when the command has
// no such flag.
func (c *config) port(flag string) int {
	if _, ok := c.cmd.flags[flag]; !ok {
		return 0
	}
	_, p, err := net.SplitHostPort(c.value(flag))
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return -1
	}
	return n
}

// internalPort is the port of the internal listener (probes, metrics).
func (c *config) internalPort() int { return c.port("http.internalListenAddr") }

// listenPorts are every port the process listens on.
func (c *config) listenPorts() map[int]string {
	m := map[int]string{}
	for name := range c.cmd.flags {
		if strings.HasSuffix(name, "istenAddr") && strings.HasPrefix(name, "http.") {
			if p := c.port(name); p > 0 {
				m[p] = name
			}
		}
	}
	return m
}

// duration parses a flag's effective value as a duration.
func (c *config) duration(flag string) time.Duration {
	d, err := time.ParseDuration(c.value(flag))
	if err != nil {
		return -1
	}
	return d
}

// process is a clickedge process started by a test.
type process struct {
	cmd      *exec.Cmd
	internal string // http://127.0.0.1:port
	out      *lockedBuffer
	done     chan struct{}
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs `clickedge <args...>` with a clean environment; internalAddr is
// where its internal listener answers. The process gets SIGTERM when the test
// ends.
func start(t testing.TB, internalAddr string, args ...string) *process {
	t.Helper()
	p := &process{
		cmd:      exec.Command(clickedge(t), args...),
		internal: "http://" + internalAddr,
		out:      &lockedBuffer{},
		done:     make(chan struct{}),
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CLICKEDGE_") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("cannot start clickedge %s: %v", args[0], err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(60 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("clickedge %s output:\n%s", args[0], p.out.String())
		}
	})
	// The rollup is ready once it has joined its consumer group, which takes
	// a few seconds.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if code, _ := p.get(t, "/ready"); code == http.StatusOK {
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("clickedge %s exited before /ready answered 200:\n%s", args[0], p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("clickedge %s: /ready did not answer 200 within 60s:\n%s", args[0], p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// get fetches a path of the internal listener; code 0 when it cannot.
func (p *process) get(t testing.TB, path string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.internal+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cannot find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// series is every sample line of a /metrics page: family name → label sets.
type series map[string][]map[string]string

// parseMetrics reads Prometheus text exposition.
func parseMetrics(t testing.TB, text string) series {
	t.Helper()
	s := series{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		name, rest := l, ""
		if i := strings.IndexAny(l, "{ "); i >= 0 {
			name, rest = l[:i], l[i:]
		}
		labels := map[string]string{}
		if strings.HasPrefix(rest, "{") {
			end := strings.LastIndex(rest, "}")
			if end < 0 {
				t.Fatalf("cannot parse metrics line %q", l)
			}
			for _, m := range labelPair.FindAllStringSubmatch(rest[1:end], -1) {
				labels[m[1]] = m[2]
			}
		}
		s[name] = append(s[name], labels)
	}
	return s
}

var labelPair = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// merge adds o's series to s.
func (s series) merge(o series) {
	for k, v := range o {
		s[k] = append(s[k], v...)
	}
}

// names lists the clickedge families, sorted, for messages.
func (s series) names() []string {
	var n []string
	for k := range s {
		if strings.HasPrefix(k, "clickedge_") {
			n = append(n, k)
		}
	}
	sort.Strings(n)
	return n
}
