// Command clickedge is the click-redirect edge: `serve` runs the edge,
// `rollup` the consumer that enforces CPC contracts, `dev` runs both with
// embedded stores and demo data, `healthcheck` probes a running
// edge for container health checks, `version` prints the build.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/VictoriaMetrics/metrics"

	// Drops the metrics package's start-up notice about PSI metrics.
	_ "github.com/clickedge/clickedge/cmd/internal/initlog"

	_ "time/tzdata" // program time zones must resolve in minimal containers
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

const commands = `Usage: clickedge <command> [flags]

Commands:
  serve        run the edge: public redirects and the internal listener
  rollup       run the rollup: click statuses, payouts, limits and usage, exactly once
  dev          run everything in one process on embedded Redis and Kafka, with demo data
  healthcheck  probe a running edge's internal listener (exit 0 when healthy)
  version      print the version

Run 'clickedge <command> -help' for a command's flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, commands)
		os.Exit(2)
	}
	metrics.ExposeMetadata(true) // TYPE lines, so histograms are histograms to Prometheus
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "serve":
		err = serve(args)
	case "rollup":
		err = runRollup(args)
	case "dev":
		err = dev(args)
	case "healthcheck":
		err = healthcheck(args)
	case "version", "-version", "--version":
		fmt.Println("clickedge", buildVersion())
	case "help", "-h", "-help", "--help":
		fmt.Print(commands)
	default:
		fmt.Fprintf(os.Stderr, "clickedge: unknown command %q\n\n%s", cmd, commands)
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "clickedge: %v\n", err)
		os.Exit(1)
	}
}

// buildVersion returns the -ldflags version, else the module or VCS revision.
func buildVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v + " " + bi.GoVersion
}
