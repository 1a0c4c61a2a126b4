package main

import "flag"

// serve runs the edge against a real Redis.
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var f edgeFlags
	f.register(fs, false)
	fs.Usage = usage(fs, "Runs the edge: public link redirects on -http.listenAddr and probes, metrics,\npprof and the admin API on -http.internalListenAddr.")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := newLogger(f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	e, err := startEdge(&f, log)
	if err != nil {
		return err
	}
	return e.waitAndStop()
}
