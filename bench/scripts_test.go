package bench

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestScriptsParse checks the suite's shell scripts with bash -n: a syntax
// error would otherwise show only when someone runs the suite.
func TestScriptsParse(t *testing.T) {
	scripts, err := filepath.Glob("*.sh")
	if err != nil || len(scripts) < 2 {
		t.Fatalf("unexpected scripts %v (error %v); want run.sh and ab.sh", scripts, err)
	}
	for _, s := range scripts {
		if out, err := exec.Command("bash", "-n", s).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", s, err, out)
		}
	}
}
