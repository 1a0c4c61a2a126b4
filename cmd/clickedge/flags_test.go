package main

import (
	"flag"
	"io"
	"testing"
	"time"
)

func TestEnvName(t *testing.T) {
	for in, want := range map[string]string{
		"redis.addr":              "CLICKEDGE_REDIS_ADDR",
		"http.internalListenAddr": "CLICKEDGE_HTTP_INTERNALLISTENADDR",
		"dev.redisAddr":           "CLICKEDGE_DEV_REDISADDR",
	} {
		if got := envName(in); got != want {
			t.Fatalf("unexpected env name of %q; got %q; want %q", in, got, want)
		}
	}
}

func TestParseFlagsEnvironment(t *testing.T) {
	newFS := func() (*flag.FlagSet, *edgeFlags) {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var f edgeFlags
		f.register(fs, false)
		return fs, &f
	}
	t.Setenv("CLICKEDGE_REDIS_ADDR", "10.0.0.1:6379")
	t.Setenv("CLICKEDGE_CACHE_TTL", "90s")
	t.Setenv("CLICKEDGE_HTTP_LISTENADDR", ":9999")

	fs, f := newFS()
	if err := parseFlags(fs, []string{"-http.listenAddr", ":7777"}); err != nil {
		t.Fatal(err)
	}
	if f.redisAddr != "10.0.0.1:6379" || f.cacheTTL != 90*time.Second {
		t.Fatalf("unexpected values from the environment; got %q %s", f.redisAddr, f.cacheTTL)
	}
	if f.listenAddr != ":7777" {
		t.Fatalf("unexpected listen address; got %q; want the command line's :7777", f.listenAddr)
	}

	t.Setenv("CLICKEDGE_CACHE_TTL", "soon")
	fs, _ = newFS()
	if err := parseFlags(fs, nil); err == nil {
		t.Fatalf("unexpected success with CLICKEDGE_CACHE_TTL=soon")
	}
	fs, _ = newFS()
	if err := parseFlags(fs, []string{"stray"}); err == nil {
		t.Fatalf("unexpected success with a stray argument")
	}
}
