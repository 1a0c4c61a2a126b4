package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunFlagErrors(t *testing.T) {
	dir := t.TempDir()
	links := filepath.Join(dir, "links.txt")
	if err := os.WriteFile(links, []byte("alice\nbad code\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "-target is required"},
		{[]string{"-target", "http://127.0.0.1:1"}, "give the links"},
		{[]string{"-target", "http://127.0.0.1:1", "-links", links, "-admin", "http://127.0.0.1:2"}, "not both"},
		{[]string{"-target", "http://127.0.0.1:1", "-admin", "http://127.0.0.1:2"}, "cannot list programs"},
		{[]string{"-target", "http://127.0.0.1:1", "-links", filepath.Join(dir, "missing")}, "cannot open links file"},
		{[]string{"-target", "http://127.0.0.1:1", "-links", links}, "line 2"},
		{[]string{"-target", "http://127.0.0.1:1", "extra"}, "unexpected argument"},
		{[]string{"-duration", "soon"}, "invalid value"},
	} {
		err := run(context.Background(), tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("unexpected error for %q; got %v; want one containing %q", tc.args, err, tc.want)
		}
	}
}

func TestOtherCommandsFlagErrors(t *testing.T) {
	ctx := context.Background()
	if err := seed(ctx, []string{"-out", "x"}); err == nil || !strings.Contains(err.Error(), "-admin.token and -out are required") {
		t.Fatalf("unexpected seed error; got %v", err)
	}
	if err := report(nil); err == nil || !strings.Contains(err.Error(), "-json files") {
		t.Fatalf("unexpected report error; got %v", err)
	}
	if err := report([]string{filepath.Join(t.TempDir(), "none.json")}); err == nil || !strings.Contains(err.Error(), "cannot read report") {
		t.Fatalf("unexpected report error; got %v", err)
	}
	if err := baseline(ctx, []string{"-location", "relative"}); err == nil || !strings.Contains(err.Error(), "absolute URL") {
		t.Fatalf("unexpected baseline error; got %v", err)
	}
	if err := broker(ctx, []string{"-partitions", "0", "-listen", "127.0.0.1:0"}); err == nil || !strings.Contains(err.Error(), "at least 1") {
		t.Fatalf("unexpected broker error; got %v", err)
	}
}
