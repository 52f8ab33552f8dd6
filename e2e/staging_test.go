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
	var man []api.ManifestEntry
	if data, _ := os.ReadFile(outFile); json.Unmarshal(data, &man) != nil || len(man) != 2 || man[1].UserPrincipalName != "bob@example.com" ||
		man[1].State != api.StagingPending || man[1].DisplayName != "Person bob@example.com" {
		t.Fatalf("manifest of a batch with nobody registered yet: %+v", man)
	}
	run(2, "staging", "export", "north")

	// The staging commands, listed by `tapctl staging` and its --help.
	for _, args := range [][]string{{"staging"}, {"staging", "--help"}} {
		if out := run(0, args...); !strings.Contains(out, "staging reissue NAME UPN") || !strings.Contains(out, "staging delete NAME") {
			t.Fatalf("%v: %s", args, out)
		}
	}
	// Errors name a batch by its name, and show names the key.
	if out := run(1, "staging", "create", "again", "--users", "cy@example.com"); !strings.Contains(out, "already pending in staging batch south") {
		t.Fatalf("refusal: %s", out)
	}
	if out := run(0, "staging", "show", "south"); !strings.Contains(out, "KEY NAME") || !strings.Contains(out, "Cy's key") {
		t.Fatalf("show: %s", out)
	}
	// Re-issue asks for --yes, and needs a key; remove and delete.
	if out := run(2, "staging", "reissue", "north", "bob@example.com"); !strings.Contains(out, "--yes") {
		t.Fatalf("reissue without --yes: %s", out)
	}
	if out := run(1, "staging", "reissue", "north", "bob@example.com", "--yes"); !strings.Contains(out, "no key to re-issue") {
		t.Fatalf("reissue of a pending row: %s", out)
	}
	if out := run(1, "staging", "remove", "north", "zed@example.com"); !strings.Contains(out, "batch north has no row for zed@example.com") {
		t.Fatalf("remove nobody: %s", out)
	}
	if out := run(0, "staging", "remove", "north", "bob@example.com"); !strings.Contains(out, "Removed bob@example.com from batch north") {
		t.Fatalf("remove: %s", out)
	}
	run(0, "staging", "create", "bob-again", "--users", "bob@example.com")
	if out := run(0, "staging", "delete", "north"); !strings.Contains(out, "Deleted batch north (1 rows)") {
		t.Fatalf("delete: %s", out)
	}
	run(1, "staging", "show", "north")
	if out := run(0, "audit", "--action", api.ActionRemoveStagingRow); !strings.Contains(out, "bob@example.com") {
		t.Fatalf("audit: %s", out)
	}
}
