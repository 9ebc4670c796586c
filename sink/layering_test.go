// Package sink_test checks the layering of the sink packages: a sink gets a
// message's bytes and sends them; it never reaches into the store or the
// delta round, directly or through another package.
package sink_test

import (
	"os/exec"
	"strings"
	"testing"
)

func TestSinksImportNeitherStoreNorDelta(t *testing.T) {
	const mod = "github.com/onedrive-agent/onedrive-agent/"
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", mod+"sink/...", mod+"agent/deliver").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{mod + "store", mod + "agent/delta", mod + "connector", mod + "agent/callback", mod + "agent/instore"}
	for _, p := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if p == f || strings.HasPrefix(p, f+"/") {
				t.Errorf("the sinks or the delivery loop depend on %s", p)
			}
		}
	}
}
