package initlog

import (
	"bytes"
	"log"
	"testing"
)

func TestFilter(t *testing.T) {
	var out bytes.Buffer
	l := log.New(Filter(&out), "", 0)
	l.Printf("INFO: metrics: disable exposing PSI metrics because of failed init: %s", "open /sys/fs/cgroup/cpu.pressure: no such file or directory")
	if out.Len() != 0 {
		t.Fatalf("the PSI notice was written: %q", out.String())
	}
	l.Printf("ERROR: metrics: cannot expose PSI metrics: %s", "gone")
	l.Printf("something else")
	want := "ERROR: metrics: cannot expose PSI metrics: gone\nsomething else\n"
	if out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
}
