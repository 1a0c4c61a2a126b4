// Package initlog keeps a dependency's start-up notice off the standard
// error of clickedge and clickbench.
//
// The metrics package (github.com/VictoriaMetrics/metrics) reads the
// process's pressure stall information (PSI) from the cgroup v2 file
// /sys/fs/cgroup/cpu.pressure while it initializes, and where the file is
// missing (cgroup v1, older kernels, many virtual machines) it logs
//
//	INFO: metrics: disable exposing PSI metrics because of failed init: ...
//
// through the standard logger, before main runs: it was the first line of
// every command, `clickedge version` included. The only effect is that
// /metrics has no process_pressure_* series, which the README says.
//
// Importing this package (for its side effect) filters that line out and
// passes every other line of the standard logger to standard error. It
// works because of the order in which Go initializes packages: repeatedly,
// the first package in import path order whose imports are all initialized.
// The metrics package imports net/http, which imports everything this
// package imports (bytes, io, log, os); so by the time net/http can be
// initialized this package can be too, and its path sorts first. The
// metrics package comes after net/http, so after this package.
package initlog

import (
	"bytes"
	"io"
	"log"
	"os"
)

// psiNotice identifies the metrics package's notice.
var psiNotice = []byte("metrics: disable exposing PSI metrics")

func init() { log.SetOutput(Filter(os.Stderr)) }

// Filter returns a writer for log.SetOutput that drops the metrics
// package's PSI notice and writes everything else to w. The standard
// logger writes each entry with one Write call.
func Filter(w io.Writer) io.Writer { return filter{w} }

type filter struct{ w io.Writer }

func (f filter) Write(p []byte) (int, error) {
	if bytes.Contains(p, psiNotice) {
		return len(p), nil
	}
	return f.w.Write(p)
}
