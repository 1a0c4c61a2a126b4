package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// envName is the environment variable that mirrors a flag:
// -http.listenAddr → CLICKEDGE_HTTP_LISTENADDR.
func envName(flagName string) string {
	return "CLICKEDGE_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(flagName))
}

// parseFlags parses args and then fills every flag not given on the command
// line from its CLICKEDGE_* environment variable: the command line wins.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; flags start with -", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		name := envName(f.Name)
		if v, ok := os.LookupEnv(name); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("cannot apply %s=%q to -%s: %w", name, v, f.Name, e)
			}
		}
	})
	return err
}

// usage prints the subcommand's flags with their environment mirrors.
func usage(fs *flag.FlagSet, summary string) func() {
	return func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: clickedge %s [flags]\n\n%s\n\nFlags (each also read from CLICKEDGE_<NAME>, dots as underscores; the command line wins):\n", fs.Name(), summary)
		fs.VisitAll(func(f *flag.Flag) {
			name, help := flag.UnquoteUsage(f)
			fmt.Fprintf(w, "  -%s %s\n    \t%s", f.Name, name, help)
			if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
				fmt.Fprintf(w, " (default %s)", f.DefValue)
			}
			fmt.Fprintf(w, " [%s]\n", envName(f.Name))
		})
	}
}
