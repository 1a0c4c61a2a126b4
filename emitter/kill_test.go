package emitter

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/clickedge/clickedge/emitter/kafkatest"
)

const killChildEnv = "CLICKEDGE_EMITTER_KILL_CHILD_SPOOL"

// TestKill9LosesNothingSpooled checks the documented loss window on kill -9:
// a process that spooled events (no broker reachable) is killed with SIGKILL
// without Close; a new process on the same spool directory replays every
// spooled event to Kafka.
func TestKill9LosesNothingSpooled(t *testing.T) {
	const n = 5000
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestKill9Child$", "-test.v")
	cmd.Env = append(os.Environ(), killChildEnv+"="+dir, fmt.Sprintf("CLICKEDGE_EMITTER_KILL_CHILD_N=%d", n))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start the child process: %v", err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "SPOOLED") {
				ready <- true
				return
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the child exited before spooling")
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the child did not spool within 60s")
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no Close, no fsync
		t.Fatal(err)
	}
	cmd.Wait()

	addr, _ := kafkatest.Start(t, testTopic, 1)
	cfg := testConfig(addr)
	cfg.SpoolDir = dir
	w := newTestWriter(t, cfg)
	waitFor(t, "the spool of the killed process replayed", func() bool { return w.Stats().Replayed >= n })
	closeWriter(t, w, 10*time.Second)
	checkTopic(t, addr, n, nil)
}

// TestKill9Child is the process TestKill9LosesNothingSpooled kills; it does
// nothing unless started by it.
func TestKill9Child(t *testing.T) {
	dir := os.Getenv(killChildEnv)
	if dir == "" {
		t.Skip("helper process of TestKill9LosesNothingSpooled")
	}
	var n int
	fmt.Sscan(os.Getenv("CLICKEDGE_EMITTER_KILL_CHILD_N"), &n)
	w, err := New(Config{SpoolDir: dir})
	if err != nil {
		t.Fatalf("cannot create writer: %v", err)
	}
	emitRange(w, 0, n)
	waitFor(t, "events spooled", func() bool { return w.Stats().Spooled >= uint64(n) })
	fmt.Println("SPOOLED")
	select {} // wait for SIGKILL
}
