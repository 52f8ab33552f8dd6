package auditlog

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/store"
)

// TestFileAndReopen: one JSON line per entry, in a private file; after
// logrotate moves it, Reopen writes to a new file at the path.
func TestFileAndReopen(t *testing.T) {
	p := filepath.Join(t.TempDir(), "audit.jsonl")
	w, err := Open(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	e := store.AuditEntry{At: time.Unix(1700000000, 0).UTC(), RequestID: "r1", ActorType: "kiosk", Actor: "lobby", Action: "signIn",
		Target: "ada@example.com", Result: store.AuditSuccess, Details: map[string]string{"sessionId": "s"}}
	w.Audited(e)
	if err := os.Rename(p, p+".1"); err != nil {
		t.Fatal(err)
	}
	w.Audited(e) // still to the moved file
	if err := w.Reopen(); err != nil {
		t.Fatal(err)
	}
	e.RequestID = "r2"
	w.Audited(e)
	old, _ := os.ReadFile(p + ".1")
	cur, _ := os.ReadFile(p)
	if strings.Count(string(old), "\n") != 2 || strings.Count(string(cur), "\n") != 1 {
		t.Fatalf("old %q new %q", old, cur)
	}
	var got map[string]any
	if err := json.Unmarshal(cur, &got); err != nil || got["requestId"] != "r2" || got["msg"] != "audit" || got["action"] != "signIn" ||
		got["time"] != "2023-11-14T22:13:20Z" {
		t.Fatalf("line %s: %v", cur, err)
	}
	if _, ok := got["id"]; ok {
		t.Error("the export names a row id it does not know")
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
}
