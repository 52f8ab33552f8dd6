package api

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// TestAuditActionsComplete keeps AuditActions in step with the Action
// constants, so a client's check of --action never refuses a real one.
func TestAuditActionsComplete(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	re := regexp.MustCompile(`(?m)^\s+Action[A-Za-z0-9]+\s*=\s*"([A-Za-z0-9]+)"`)
	n := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			n++
			if !slices.Contains(AuditActions, m[1]) {
				t.Errorf("action %q (%s) is not in AuditActions", m[1], f)
			}
		}
	}
	if n != len(AuditActions) {
		t.Errorf("%d action constants, %d in AuditActions", n, len(AuditActions))
	}
}
