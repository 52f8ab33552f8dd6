package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapkiosk/tapkiosk/api"
)

// TestStagingWithTapctl: batches through the real tapctl and tapd.
func TestStagingWithTapctl(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "tapd.db")
	tokFile := writeFile(t, "admin.token", initDB(t, db)+"\n")
	d := startTapd(t, db)
	run := tapctlWant(t, d.url, tokFile)
	for _, u := range []string{"ada@example.com", "bob@example.com", "cy@example.com"} {
		run(0, "user", "add", u, "--name", "Person "+u)
	}
	if out := run(0, "staging", "create", "north", "--users", "ada@example.com,bob@example.com"); !strings.Contains(out, "2 pending") {
		t.Fatalf("create: %s", out)
	}
	csvPath := writeFile(t, "staging.csv", "upn,displayName,keyName\ncy@example.com,Cy,Cy's key\n")
	var b api.StagingBatch
	if err := json.Unmarshal([]byte(run(0, "--json", "staging", "create", "south", "--csv", csvPath)), &b); err != nil || len(b.Rows) != 1 || b.Rows[0].KeyName != "Cy's key" {
		t.Fatalf("csv batch %+v %v", b, err)
	}
	if out := run(1, "staging", "create", "again", "--users", "ada@example.com,nobody@example.com"); !strings.Contains(out, "row 1 ada@example.com: already pending") ||
		!strings.Contains(out, "row 2 nobody@example.com: no such user") {
		t.Fatalf("refusal: %s", out)
	}
	// From a group: each member checked as a listed person is.
	for _, u := range []string{"dan@example.com", "eve@example.com"} {
		run(0, "user", "add", u, "--name", "Person "+u, "--groups", "Lab")
	}
	var lab api.StagingBatch
	if err := json.Unmarshal([]byte(run(0, "staging", "create", "--name", "lab", "--group", "lab", "--json")), &lab); err != nil ||
		len(lab.Rows) != 2 || lab.Rows[0].UserPrincipalName != "dan@example.com" || lab.Rows[1].UserPrincipalName != "eve@example.com" {
		t.Fatalf("group batch %+v %v", lab, err)
	}
	if out := run(1, "staging", "create", "lab2", "--group", "Lab"); !strings.Contains(out, "row 1 dan@example.com: already pending") {
		t.Fatalf("group refusal: %s", out)
	}
	if out := run(1, "staging", "create", "none", "--group", "Nobody"); !strings.Contains(out, "Nobody is in a group Nobody") {
		t.Fatalf("unknown group: %s", out)
	}
	run(2, "staging", "create", "x", "--group", "Lab", "--users", "a@example.com")
	run(2, "staging", "create", "x", "--name", "y", "--group", "Lab")
	run(2, "staging", "create", "--group", "Lab")
	run(2, "staging", "create", "x")
	run(2, "staging", "create", "x", "--users", "a@example.com", "--csv", csvPath)
	if out := run(0, "staging", "list"); !strings.Contains(out, "north") || !strings.Contains(out, "south") {
		t.Fatalf("list: %s", out)
	}
	if out := run(0, "staging", "show", "north"); !strings.Contains(out, "bob@example.com") || !strings.Contains(out, "pending") {
		t.Fatalf("show: %s", out)
	}
	run(1, "staging", "show", "nope")
	if out := run(0, "staging", "export", "north", "--format", "csv"); !strings.HasPrefix(out, strings.Join(api.ManifestColumns, ",")) {
		t.Fatalf("csv: %s", out)
	}
	outFile := filepath.Join(t.TempDir(), "north.json")
	run(0, "staging", "export", "north", "--format", "json", "--out", outFile)
	if fi, err := os.Stat(outFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("manifest file: %v %v", fi, err)
	}
	if data, _ := os.ReadFile(outFile); strings.TrimSpace(string(data)) != "[]" {
		t.Fatalf("empty manifest: %s", data)
	}
	run(2, "staging", "export", "north")
}
