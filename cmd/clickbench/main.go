// Command clickbench is clickedge's load suite: it loads a running edge with
// realistic click traffic and reports throughput, latency percentiles and
// lost click events. `clickbench baseline` serves a bare static 302 (the
// ceiling), `clickbench broker` runs an in-process Kafka-protocol broker,
// `clickbench seed` creates links through the admin API, `clickbench report`
// turns JSON results into Markdown with a latency chart.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/clickedge/clickedge/bench"
	// Drops the metrics package's start-up notice about PSI metrics.
	_ "github.com/clickedge/clickedge/cmd/internal/initlog"
)

const commands = `Usage: clickbench [run] [flags]      load a running edge (see -help)
       clickbench baseline [flags]   serve a bare fasthttp static 302
       clickbench broker [flags]     run an in-process Kafka-protocol broker
       clickbench seed [flags]       create bench links through the admin API
       clickbench report [flags] FILE.json...  Markdown report with a latency chart
`

func main() {
	args := os.Args[1:]
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd {
	case "run":
		err = run(ctx, args)
	case "baseline":
		err = baseline(ctx, args)
	case "broker":
		err = broker(ctx, args)
	case "seed":
		err = seed(ctx, args)
	case "report":
		err = report(args)
	case "help":
		fmt.Print(commands)
	default:
		fmt.Fprintf(os.Stderr, "clickbench: unknown command %q\n\n%s", cmd, commands)
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "clickbench: %v\n", err)
		os.Exit(1)
	}
}

func newFlagSet(name, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: clickbench %s [flags]\n\n%s\n\nFlags:\n", name, summary)
		fs.PrintDefaults()
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string, wantArgs bool) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !wantArgs && fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; flags start with -", fs.Arg(0))
	}
	return nil
}

func run(ctx context.Context, args []string) error {
	fs := newFlagSet("run", "Loads a running edge and reports req/s, latency percentiles (HDR histogram),\nstatus codes and errors; optionally the same load against a baseline and\nthe loss check of the run's click events on Kafka.")
	target := fs.String("target", "", "base URL of the edge's public listener, e.g. http://127.0.0.1:8080 (required)")
	name := fs.String("name", "", "label of the target in the results (default: its host:port)")
	linksFile := fs.String("links", "", "file of link codes or paths, one per line, most popular first")
	admin := fs.String("admin", "", "base URL of the edge's internal listener, to list links through the admin API instead of -links")
	adminToken := fs.String("admin.token", "", "admin API bearer token (with -admin)")
	programs := fs.String("programs", "", "comma-separated programs whose links -admin lists (default: all programs)")
	zipf := fs.Float64("zipf", 1.0, "Zipf exponent of link popularity: link k (from 1) gets weight 1/k^s; 0 is uniform")
	bots := fs.Float64("bots", 0.1, "fraction of requests with bot user agents (crawlers, previews, libraries, headless, empty)")
	head := fs.Float64("head", 0.02, "fraction of HEAD requests")
	clients := fs.Int("clients", 10000, "distinct client IPv4 addresses sent in X-Forwarded-For (the edge believes them only from -http.trustedProxies)")
	runID := fs.String("runid", "", "run ID sent as subId1 on every request (default: random)")
	seed := fs.Uint64("seed", 1, "seed of the random request sequence")
	connections := fs.Int("connections", 64, "concurrent connections: closed loop workers, or the bound on requests in flight with -rate")
	rate := fs.Float64("rate", 0, "open loop: requests per second, latency measured from each request's scheduled send time; 0: closed loop")
	duration := fs.Duration("duration", 10*time.Second, "measured time")
	warmup := fs.Duration("warmup", 2*time.Second, "time sent before measuring (answers still count as served for -verify.kafka)")
	timeout := fs.Duration("timeout", 2*time.Second, "bound on one request")
	jsonFile := fs.String("json", "", "write the results as JSON to this file")
	baselineURL := fs.String("baseline", "", "base URL of a second target that gets the same load after the first, e.g. nginx's static return 302; prints the ratio")
	baselineName := fs.String("baseline.name", "", "label of the baseline (default: its host:port)")
	verifyKafka := fs.String("verify.kafka", "", "comma-separated Kafka brokers: after the run, count this run's click events on the topic and report lost ones")
	verifyTopic := fs.String("verify.topic", "clicks", "click events topic for -verify.kafka")
	verifyTimeout := fs.Duration("verify.timeout", 60*time.Second, "bound on waiting for the run's click events")
	quiet := fs.Bool("quiet", false, "no progress line")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the load generator itself to this file")
	memProfile := fs.String("memprofile", "", "write an allocation profile of the load generator itself to this file at the end")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cannot create -cpuprofile %q: %w", *cpuProfile, err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cannot start CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err != nil {
			return fmt.Errorf("cannot create -memprofile %q: %w", *memProfile, err)
		}
		defer func() {
			if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
				fmt.Fprintf(os.Stderr, "clickbench: cannot write allocation profile: %s\n", err)
			}
			f.Close()
		}()
	}
	if *target == "" {
		return errors.New("-target is required, e.g. -target http://127.0.0.1:8080")
	}
	var links []string
	var err error
	switch {
	case *linksFile != "" && *admin != "":
		return errors.New("give -links or -admin, not both")
	case *linksFile != "":
		links, err = bench.ReadLinks(*linksFile)
	case *admin != "":
		ac := &bench.AdminClient{URL: *admin, Token: *adminToken}
		links, err = ac.ListLinks(ctx, splitList(*programs))
	default:
		return errors.New("give the links: -links FILE, or -admin URL -admin.token T")
	}
	if err != nil {
		return err
	}
	traffic, err := bench.NewTraffic(bench.TrafficConfig{Links: links, Zipf: *zipf, Bots: *bots, Head: *head, Clients: *clients, RunID: *runID, Seed: *seed})
	if err != nil {
		return err
	}
	cfg := bench.SuiteConfig{
		Load: bench.Config{
			Target: *target, Traffic: traffic, Name: *name,
			Connections: *connections, Rate: *rate, Duration: *duration, Warmup: *warmup, Timeout: *timeout,
		},
		Baseline:     *baselineURL,
		BaselineName: *baselineName,
		Log:          func(f string, a ...any) { fmt.Fprintf(os.Stderr, "clickbench: "+f+"\n", a...) },
	}
	if !*quiet {
		cfg.Load.Progress = os.Stderr
		cfg.Load.ProgressInPlace = isTerminal(os.Stderr)
	}
	if *verifyKafka != "" {
		cfg.Verify = &bench.VerifyConfig{Brokers: splitList(*verifyKafka), Topic: *verifyTopic, Timeout: *verifyTimeout}
	}
	rep, err := bench.RunSuite(ctx, cfg)
	if rep != nil {
		fmt.Println()
		rep.WriteText(os.Stdout)
		if *jsonFile != "" {
			if jerr := rep.WriteJSON(*jsonFile); jerr != nil && err == nil {
				err = jerr
			}
		}
	}
	if err == nil && rep.Verify != nil && rep.Verify.Lost > 0 {
		err = fmt.Errorf("%d click events of run %s were lost", rep.Verify.Lost, rep.RunID)
	}
	return err
}

func baseline(ctx context.Context, args []string) error {
	fs := newFlagSet("baseline", "Serves a bare fasthttp static 302 on every request: the ceiling of a fasthttp\nserver on this machine, to measure the edge against.")
	listen := fs.String("listen", "127.0.0.1:8090", "listen address")
	location := fs.String("location", bench.DefaultBaselineLocation, "Location of the 302")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	srv, err := bench.NewBaseline(bench.BaselineConfig{Location: *location})
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe(*listen) }()
	fmt.Fprintf(os.Stderr, "clickbench baseline: serving a static 302 on %s\n", *listen)
	select {
	case err := <-errc:
		return fmt.Errorf("cannot serve on -listen %q: %w", *listen, err)
	case <-ctx.Done():
		return srv.Shutdown()
	}
}

func broker(ctx context.Context, args []string) error {
	fs := newFlagSet("broker", "Runs an in-process Kafka-protocol broker (franz-go kfake) with the topic created;\nrecords are kept in memory until it stops.")
	listen := fs.String("listen", "127.0.0.1:9092", "listen address")
	topic := fs.String("topic", "clicks", "topic to create")
	partitions := fs.Int("partitions", 3, "partitions of the topic")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if *partitions < 1 {
		return fmt.Errorf("-partitions %d: want at least 1", *partitions)
	}
	b, err := bench.StartBroker(bench.BrokerConfig{Listen: *listen, Topic: *topic, Partitions: *partitions})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "clickbench broker: Kafka protocol on %s, topic %q with %d partitions\n", b.Addr(), *topic, *partitions)
	<-ctx.Done()
	b.Close()
	return nil
}

func seed(ctx context.Context, args []string) error {
	fs := newFlagSet("seed", "Creates a bench program, partners, partnerships and links through the admin\nAPI and writes the link paths to -out (idempotent).")
	admin := fs.String("admin", "http://127.0.0.1:8081", "base URL of the edge's internal listener")
	token := fs.String("admin.token", "", "admin API bearer token (required)")
	program := fs.String("program", "bench", "program ID")
	partners := fs.Int("partners", 10, "number of partners")
	links := fs.Int("links", 1000, "number of short links")
	out := fs.String("out", "", "file to write the link paths to, one per line (required)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if *token == "" || *out == "" {
		return errors.New("-admin.token and -out are required")
	}
	ac := &bench.AdminClient{URL: *admin, Token: *token}
	paths, err := ac.Seed(ctx, bench.SeedConfig{Program: *program, Partners: *partners, Links: *links})
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, []byte(strings.Join(paths, "\n")+"\n"), 0o644); err != nil {
		return fmt.Errorf("cannot write links file %q: %w", *out, err)
	}
	fmt.Fprintf(os.Stderr, "clickbench seed: %d links in %s\n", len(paths), *out)
	return nil
}

func report(args []string) error {
	fs := newFlagSet("report", "Writes a Markdown report and an SVG latency chart from clickbench -json files.")
	out := fs.String("out", "report.md", "Markdown file to write")
	chart := fs.String("chart", "latency.svg", "SVG chart to write, next to -out")
	title := fs.String("title", "clickbench report", "report and chart title")
	if err := parse(fs, args, true); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("give one or more clickbench -json files")
	}
	var reports []*bench.Report
	var results []*bench.Result
	for _, f := range fs.Args() {
		rep, err := bench.ReadReport(f)
		if err != nil {
			return err
		}
		reports = append(reports, rep)
		results = append(results, rep.Results...)
	}
	chartPath := filepath.Join(filepath.Dir(*out), *chart)
	cf, err := os.Create(chartPath)
	if err != nil {
		return fmt.Errorf("cannot create chart %q: %w", chartPath, err)
	}
	if err := bench.WriteChart(cf, *title, results); err != nil {
		cf.Close()
		return fmt.Errorf("cannot write chart %q: %w", chartPath, err)
	}
	if err := cf.Close(); err != nil {
		return fmt.Errorf("cannot write chart %q: %w", chartPath, err)
	}
	mf, err := os.Create(*out)
	if err != nil {
		return fmt.Errorf("cannot create report %q: %w", *out, err)
	}
	bench.WriteMarkdown(mf, *title, reports, *chart)
	if err := mf.Close(); err != nil {
		return fmt.Errorf("cannot write report %q: %w", *out, err)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
