package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/alicebob/miniredis/v2"

	"github.com/clickedge/clickedge/bench"
	"github.com/clickedge/clickedge/linkcache"
)

// dev runs the edge on an embedded Redis-compatible store with demo data.
func dev(args []string) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	var f edgeFlags
	f.register(fs, true)
	var rf rollupFlags
	rf.register(fs, true)
	redisListen := fs.String("dev.redisAddr", "127.0.0.1:0", "listen address of the embedded Redis-compatible store (port 0: any free port); ignored with -redis.addr")
	kafkaListen := fs.String("dev.kafkaAddr", "127.0.0.1:0", "listen address of the embedded Kafka-protocol broker (port 0: any free port); ignored with -kafka.brokers")
	fs.Usage = usage(fs, "Runs the edge in one process on an embedded Redis-compatible store (miniredis,\nover real TCP) with demo programs, partners, an ad and links, and prints\nsample links, the admin URL and the admin token.")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := newLogger(f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	embedded := f.redisAddr == ""
	if embedded {
		mr := miniredis.NewMiniRedis()
		if err := mr.StartAddr(*redisListen); err != nil {
			return fmt.Errorf("cannot start the embedded Redis on -dev.redisAddr %q: %w", *redisListen, err)
		}
		defer mr.Close()
		f.redisAddr = mr.Addr()
	}
	embeddedKafka := f.kafkaBrokers == ""
	if embeddedKafka {
		addr, stop, err := startDevKafka(*kafkaListen, f.kafkaTopic)
		if err != nil {
			return err
		}
		defer stop()
		f.kafkaBrokers = addr
	}
	if f.spoolDir == "" {
		dir, err := os.MkdirTemp("", "clickedge-dev-spool-")
		if err != nil {
			return fmt.Errorf("cannot create a spool directory: %w", err)
		}
		defer os.RemoveAll(dir)
		f.spoolDir = dir
	}
	if f.visitorKey == "" {
		f.visitorKey = "clickedge-dev-visitor-key"
	}
	if f.adminToken == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		f.adminToken = hex.EncodeToString(b[:])
	}
	rollupMetrics := metrics.NewSet()
	e, err := startEdge(&f, log, rollupMetrics.WritePrometheus)
	if err != nil {
		return err
	}
	links, err := seedDemo(e.store)
	if err != nil {
		e.stopServers(context.Background())
		e.stopStores()
		return fmt.Errorf("cannot seed demo data: %w", err)
	}
	rf.kafkaBrokers, rf.kafkaTopic = f.kafkaBrokers, f.kafkaTopic
	consumer, err := startRollup(&rf, e.store, rollupMetrics, log.Named("rollup"))
	if err != nil {
		e.stopServers(context.Background())
		e.stopStores()
		return err
	}
	e.closers = append(e.closers, func() { consumer.Close() })
	printDev(e, &f, embedded, embeddedKafka, links)
	return e.waitAndStop()
}

// demoLink is a sample link printed by dev.
type demoLink struct{ what, path string }

// seedDemo writes the demo program, partners, ad, partnerships and links.
// It is idempotent, so dev can run against a real Redis more than once.
func seedDemo(s *linkcache.Store) ([]demoLink, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	contract, err := linkcache.ParseContract([]byte(`{"currency":"USD","default_payout":"0.10",
		"payout_groups":[{"name":"us-mobile-social","match":{"country":["US"],"device":["mobile"],"source":["social"]},"payout":"0.25"}],
		"unique_window":"30m",
		"limits":[{"metric":"clicks","max":1000,"period":"day"},{"metric":"payout","max":"50.00","period":"month"}]}`))
	if err != nil {
		panic("BUG: demo contract: " + err.Error())
	}
	steps := []func() error{
		func() error {
			return s.PutProgram(ctx, "demo", &linkcache.Program{Name: "Demo Brand US", Marketplace: "US", ASIN: "B08N5WRWNW", Passthrough: true, Timezone: "America/New_York"})
		},
		func() error {
			return s.PutProgram(ctx, "demo-uk", &linkcache.Program{Name: "Demo Brand UK", Marketplace: "UK", StoreURL: "https://www.amazon.co.uk/stores/page/7C1D5F4A-2B1E-4F0C-9A63-5D2C1B0E8F11"})
		},
		func() error { return s.PutPartner(ctx, "alice", &linkcache.Partner{Name: "Alice Reviews"}) },
		func() error { return s.PutPartner(ctx, "bob", &linkcache.Partner{Name: "Bob's Newsletter"}) },
		func() error {
			return s.PutAd(ctx, "demo", "spring", &linkcache.Ad{Name: "Spring banner", ASIN: "B09B8V1LZ3"})
		},
		func() error {
			return s.PutPartnership(ctx, "demo", "alice", &linkcache.Partnership{
				Attribution: linkcache.Attribution{Tag: "alicereviews-20", LinkCode: "ll1", AscSubtag: "demo"},
				Contract:    contract,
			})
		},
		func() error {
			return s.PutPartnership(ctx, "demo", "bob", &linkcache.Partnership{
				Attribution: linkcache.Attribution{MAAS: "maas_adg_api_demo_bob", CampaignID: "cmp1", AdGroupID: "adg1", CreativeID: "cr1"},
				Contract:    contract,
			})
		},
		func() error {
			return s.PutPartnership(ctx, "demo-uk", "alice", &linkcache.Partnership{
				Attribution: linkcache.Attribution{Tag: "alicereviews-21"},
			})
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	links := []struct {
		what string
		l    linkcache.Link
	}{
		{"program level, Associates", linkcache.Link{Code: "alice", Program: "demo", Partner: "alice"}},
		{"partner level (partner's product)", linkcache.Link{Code: "alice-echo", Program: "demo", Partner: "alice", ASIN: "B07XJ8C8F5"}},
		{"ad level, Amazon Attribution", linkcache.Link{Code: "bob-spring", Program: "demo", Partner: "bob", Ad: "spring"}},
		{"UK Store page", linkcache.Link{Code: "alice-uk", Program: "demo-uk", Partner: "alice"}},
	}
	var out []demoLink
	for _, d := range links {
		l := d.l
		if err := s.CreateLink(ctx, &l); err != nil && !errors.Is(err, linkcache.ErrExists) {
			return nil, err
		}
		out = append(out, demoLink{d.what, "/" + l.Code})
	}
	out = append(out,
		demoLink{"structured, ad level", "/c/bob/spring/demo"},
		demoLink{"structured, program level", "/c/alice/0/demo"},
	)
	return out, nil
}

// startDevKafka runs the in-process Kafka-protocol broker of the load suite
// (bench.StartBroker, franz-go's kfake) on addr with the clicks topic seeded,
// and returns its address and a stop function.
func startDevKafka(addr, topic string) (string, func(), error) {
	b, err := bench.StartBroker(bench.BrokerConfig{Listen: addr, Topic: topic, Partitions: 3})
	if err != nil {
		return "", nil, fmt.Errorf("cannot start the embedded Kafka broker (-dev.kafkaAddr %q): %w", addr, err)
	}
	return b.Addr(), b.Close, nil
}

func printDev(e *edge, f *edgeFlags, embedded, embeddedKafka bool, links []demoLink) {
	var b strings.Builder
	internal := "http://" + displayAddr(e.internalLn.Addr())
	redis := f.redisAddr
	if embedded {
		redis += " (embedded; -redis.addr uses a real Redis)"
	}
	fmt.Fprintf(&b, "\nclickedge dev is running\n\n")
	fmt.Fprintf(&b, "  public links  %s\n", e.publicURL)
	fmt.Fprintf(&b, "  internal      %s  (/health /ready /metrics /debug/pprof/ /api/v1/)\n", internal)
	fmt.Fprintf(&b, "  admin token   %s\n", f.adminToken)
	fmt.Fprintf(&b, "  redis         %s\n", redis)
	kafka := f.kafkaBrokers + ", topic " + f.kafkaTopic
	if embeddedKafka {
		kafka += " (embedded; -kafka.brokers uses a real Kafka)"
	}
	fmt.Fprintf(&b, "  kafka         %s\n", kafka)
	fmt.Fprintf(&b, "  spool         %s\n\n", f.spoolDir)
	fmt.Fprintf(&b, "Sample links:\n")
	for _, l := range links {
		fmt.Fprintf(&b, "  %-36s %s%s\n", l.what, e.publicURL, l.path)
	}
	fmt.Fprintf(&b, "\nTry:\n")
	fmt.Fprintf(&b, "  curl -si %s/alice\n", e.publicURL)
	fmt.Fprintf(&b, "  curl -s -H 'Authorization: Bearer %s' %s/api/v1/links/alice\n", f.adminToken, internal)
	fmt.Fprintf(&b, "  curl -s -H 'Authorization: Bearer %s' -d '{\"program\":\"demo\",\"partner\":\"bob\"}' %s/api/v1/links\n", f.adminToken, internal)
	fmt.Fprintf(&b, "  curl -s -H 'Authorization: Bearer %s' %s/api/v1/programs/demo/partners/alice/usage    # the rollup's counts\n\n", f.adminToken, internal)
	fmt.Fprintf(&b, "  kcat -C -b %s -t %s -e       # click events, with a Kafka client\n\n", f.kafkaBrokers, f.kafkaTopic)
	fmt.Fprintf(&b, "Stop with Ctrl-C.\n\n")
	fmt.Fprint(os.Stdout, b.String())
}
