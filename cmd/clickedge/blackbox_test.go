package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clickedge/clickedge/emitter/kafkatest"
	"github.com/clickedge/clickedge/linkcache/redistest"
)

// buildBinary builds clickedge into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "clickedge")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("cannot build clickedge: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cannot find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// process is a clickedge child process.
type process struct {
	t   *testing.T
	cmd *exec.Cmd
}

func startProcess(t *testing.T, bin string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "CLICKEDGE_LOG_LEVEL=warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start %s: %v", args[0], err)
	}
	p := &process{t: t, cmd: cmd}
	t.Cleanup(func() { p.signal(syscall.SIGKILL) })
	return p
}

func (p *process) signal(s syscall.Signal) {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(s)
		_ = p.cmd.Wait()
	}
}

func waitReady(t *testing.T, internal string) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + internal + "/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
	}
	t.Fatalf("%s did not become ready", internal)
}

type blackbox struct {
	t        *testing.T
	public   string
	internal string
	token    string
	client   *http.Client
}

func (b *blackbox) api(method, path, body string, want int) []byte {
	b.t.Helper()
	req, _ := http.NewRequest(method, "http://"+b.internal+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+b.token)
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("cannot call %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		b.t.Fatalf("unexpected status of %s %s; got %d %s; want %d", method, path, resp.StatusCode, out, want)
	}
	return out
}

func (b *blackbox) click(path, ip, ua, referrer string) {
	b.t.Helper()
	req, _ := http.NewRequest("GET", "http://"+b.public+path, nil)
	req.Header.Set("X-Forwarded-For", ip)
	req.Header.Set("User-Agent", ua)
	if referrer != "" {
		req.Header.Set("Referer", referrer)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("cannot click %s: %v", path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

const (
	uaMobile  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	uaDesktop = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	uaCrawler = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)

// TestBlackBoxServeAndRollup runs the clickedge binary as `serve` and
// `rollup` against a real redis-server and a Kafka-protocol broker, sets a
// contract through the admin API, sends clicks from many visitors through a
// trusted proxy, kills the rollup with SIGKILL twice mid-stream (with a long
// session timeout, so only the restarted rollup's removal of its predecessor
// lets counting resume quickly), and checks
// the usage API against a model of the contract: exact counts per status,
// exact payout, no limit passed.
func TestBlackBoxServeAndRollup(t *testing.T) {
	bin := buildBinary(t)
	redis := redistest.Start(t)
	broker, _ := kafkatest.Start(t, "clicks", 3)
	b := &blackbox{t: t, public: freeAddr(t), internal: freeAddr(t), token: "blackbox-admin-token", client: &http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	startProcess(t, bin, "serve", "-http.listenAddr", b.public, "-http.internalListenAddr", b.internal,
		"-redis.addr", redis.Addr, "-kafka.brokers", broker, "-admin.token", b.token,
		"-http.trustedProxies", "127.0.0.1", "-tracking.visitorKey", "blackbox-visitor-key", "-spool.dir", t.TempDir(), "-http.shutdownDelay", "0s",
		"-kafka.batchTimeout", "2ms")
	waitReady(t, b.internal)
	rollupInternal := freeAddr(t)
	rollupArgs := []string{"rollup", "-http.internalListenAddr", rollupInternal, "-redis.addr", redis.Addr, "-kafka.brokers", broker,
		"-kafka.sessionTimeout", "20s", "-rollup.batchSize", "10"}
	rollup := startProcess(t, bin, rollupArgs...)
	waitReady(t, rollupInternal)

	b.api("PUT", "/api/v1/programs/shop", `{"name":"Shop","marketplace":"US","asin":"B000000001","timezone":"America/New_York"}`, 200)
	b.api("PUT", "/api/v1/partners/alice", `{"name":"Alice"}`, 200)
	b.api("PUT", "/api/v1/partners/bob", `{"name":"Bob"}`, 200)
	b.api("PUT", "/api/v1/programs/shop/partners/alice", `{"attribution":{"tag":"alice-20"},"contract":{
		"currency":"USD","default_payout":"0.10",
		"payout_groups":[{"name":"mobile","match":{"device":["mobile"]},"payout":"0.25"}],
		"restrictions":{"source":["direct","social"]},
		"unique_window":"30m",
		"limits":[{"metric":"clicks","max":60,"period":"day"},{"metric":"payout","max":"9.00","period":"month"}]}}`, 200)
	b.api("PUT", "/api/v1/programs/shop/partners/bob", `{"attribution":{"tag":"bob-20"}}`, 200)
	b.api("POST", "/api/v1/links", `{"program":"shop","partner":"alice","code":"alice"}`, 201)
	b.api("POST", "/api/v1/links", `{"program":"shop","partner":"bob","code":"bob"}`, 201)

	// The model of alice's contract, applied to the clicks in order.
	type counts struct{ payable, duplicate, bot, restricted, overLimit int }
	var want counts
	clicks, payout := 0, 0
	seen := map[string]bool{}
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 400
	for i := 0; i < n; i++ {
		if i == n/3 || i == 2*n/3 {
			rollup.signal(syscall.SIGKILL)
			rollup = startProcess(t, bin, rollupArgs...)
			waitReady(t, rollupInternal) // a member of the group again
		}
		ip := fmt.Sprintf("198.51.100.%d", rng.IntN(150))
		ua, pay := uaDesktop, 100_000
		if ip[len(ip)-1]%2 == 0 { // a visitor keeps its device
			ua, pay = uaMobile, 250_000
		}
		referrer := ""
		switch x := rng.IntN(10); {
		case x == 0:
			b.click("/alice", ip, uaCrawler, "")
			want.bot++
			continue
		case x < 3:
			referrer = "https://www.google.com/" // search: restricted
		case x < 5:
			referrer = "https://www.facebook.com/" // social
		}
		b.click("/alice", ip, ua, referrer)
		if i%7 == 0 {
			b.click("/bob", ip, ua, referrer)
		}
		switch {
		case seen[ip+ua]:
			want.duplicate++
		case referrer == "https://www.google.com/":
			want.restricted++
		case clicks+1 > 60 || payout+pay > 9_000_000:
			want.overLimit++
		default:
			want.payable++
			clicks++
			payout += pay
		}
		seen[ip+ua] = true
	}
	b.click("/nope", "198.51.100.1", uaDesktop, "") // unknown link: not alice's
	last := time.Now()
	if want.overLimit == 0 || want.payable == 0 || want.duplicate == 0 {
		t.Fatalf("the traffic does not reach every status: %+v", want)
	}
	type usage struct {
		Clicks       int `json:"clicks"`
		PayoutMicros int `json:"payout_micros"`
		Counts       struct {
			Payable, Duplicate, Bot, Restricted int
			NoContract                          int `json:"no_contract"`
			OverLimit                           int `json:"over_limit"`
		} `json:"counts"`
		Limits []struct {
			Metric    string
			Max, Used int
		} `json:"limits"`
	}
	var u usage
	// A restarted rollup removes the member its killed predecessor left:
	// the group does not wait out the 20 s session timeout.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if err := json.Unmarshal(b.api("GET", "/api/v1/programs/shop/partners/alice/usage", "", 200), &u); err != nil {
			t.Fatalf("cannot decode usage: %v", err)
		}
		for _, l := range u.Limits {
			if l.Used > l.Max {
				t.Fatalf("limit passed: %+v", u)
			}
		}
		if u.Clicks == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("unexpected usage 10s after the last click; got %d clicks; want %d", u.Clicks, n)
		}
	}
	t.Logf("usage complete %s after the last click", time.Since(last).Round(time.Millisecond))
	got := counts{u.Counts.Payable, u.Counts.Duplicate, u.Counts.Bot, u.Counts.Restricted, u.Counts.OverLimit}
	if got != want || u.PayoutMicros != payout || u.Counts.NoContract != 0 {
		t.Fatalf("unexpected usage; got %+v, %d micros; want %+v, %d micros", got, u.PayoutMicros, want, payout)
	}
	if u.Limits[0].Used != clicks || u.Limits[1].Used != payout {
		t.Fatalf("unexpected limit usage; got %+v; want %d clicks and %d micros", u.Limits, clicks, payout)
	}
	var bob usage
	if err := json.Unmarshal(b.api("GET", "/api/v1/programs/shop/partners/bob/usage", "", 200), &bob); err != nil {
		t.Fatalf("cannot decode usage: %v", err)
	}
	if bob.Counts.NoContract == 0 || bob.Clicks != bob.Counts.NoContract || bob.PayoutMicros != 0 {
		t.Fatalf("unexpected usage of bob; got %+v", bob)
	}
	// A graceful stop leaves the group; the next rollup takes over at once.
	rollup.signal(syscall.SIGTERM)
	if code := rollup.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("unexpected exit code of the rollup on SIGTERM; got %d; want 0", code)
	}
}

// TestVersionWritesNothingElse runs `clickedge version`: the version on
// standard output, and nothing on standard error, where the metrics
// package's start-up notice about PSI metrics would go on a machine without
// /sys/fs/cgroup/cpu.pressure (cmd/internal/initlog).
func TestVersionWritesNothingElse(t *testing.T) {
	bin := buildBinary(t)
	var stdout, stderr strings.Builder
	cmd := exec.Command(bin, "version")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("clickedge version: %v\n%s", err, stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "clickedge ") || strings.Count(stdout.String(), "\n") != 1 {
		t.Errorf("stdout = %q, want one line starting with \"clickedge \"", stdout.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr = %q, want nothing", stderr.String())
	}
}
