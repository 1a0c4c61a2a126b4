package main

import (
	"flag"
	"fmt"
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// healthcheck probes a running edge's internal listener, for container
// HEALTHCHECK and exec probes: exit 0 when the probe answers 200.
func healthcheck(args []string) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	addr := fs.String("http.internalListenAddr", ":8081", "internal listener of the edge to probe")
	path := fs.String("path", "/health", "probe path: /health (alive) or /ready (taking traffic)")
	timeout := fs.Duration("timeout", 2*time.Second, "bound on the probe")
	fs.Usage = usage(fs, "Probes a running edge's internal listener; exits 0 when it answers 200.")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("cannot parse -http.internalListenAddr %q: %w", *addr, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	url := "http://" + net.JoinHostPort(host, port) + *path
	code, _, err := fasthttp.GetTimeout(nil, url, *timeout)
	if err != nil {
		return fmt.Errorf("cannot probe %s: %w", url, err)
	}
	if code != fasthttp.StatusOK {
		return fmt.Errorf("probe %s answered %d", url, code)
	}
	return nil
}
