package auditlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/internal/pgtest"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/store/storetest"
)

var pg *pgtest.Server

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &pg)) }

var bg = context.Background()

func entry(rid string) store.AuditEntry {
	return store.AuditEntry{At: time.Unix(1700000000, 0).UTC(), RequestID: rid, ActorType: "kiosk", Actor: "lobby", Action: "signIn",
		Target: "ada@example.com", Result: store.AuditSuccess, Details: map[string]string{"sessionId": "s"}}
}

func appendAudit(t *testing.T, st store.Store, rids ...string) {
	t.Helper()
	for _, rid := range rids {
		if err := st.AppendAudit(bg, entry(rid)); err != nil {
			t.Fatal(err)
		}
	}
}

// lines reads the export file: request id → the ids its lines carried.
func lines(t *testing.T, paths ...string) map[string][]float64 {
	t.Helper()
	out := map[string][]float64{}
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if l == "" {
				continue
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(l), &got); err != nil || got["msg"] != "audit" || got["time"] != "2023-11-14T22:13:20Z" {
				t.Fatalf("line %s: %v", l, err)
			}
			id, _ := got["id"].(float64)
			if id == 0 {
				t.Fatalf("a line without the entry's id: %s", l)
			}
			rid, _ := got["requestId"].(string)
			out[rid] = append(out[rid], id)
		}
	}
	return out
}

// openLog opens a Writer on a fresh file, closed when the test ends, and
// returns the file's path.
func openLog(t *testing.T) (string, *Writer) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "audit.jsonl")
	w, err := Open(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return p, w
}

// TestFollowsCommits: the export writes every committed entry once, with
// its id, including one whose transaction commits after a later-begun
// one's (on PostgreSQL: a smaller id than an entry already exported).
func TestFollowsCommits(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b, func(t *testing.T) {
			st := storetest.Open(t, pg, b)
			p, w := openLog(t)
			x := NewExporter(st, w, nil)
			appendAudit(t, st, "first")
			if err := x.Drain(bg); err != nil {
				t.Fatal(err)
			}
			storetest.LateCommit(t, st, entry("slow"), entry("fast"), func() { // PostgreSQL: fast commits while slow is open
				if err := x.Drain(bg); err != nil {
					t.Fatal(err)
				}
				if got := lines(t, p); len(got["fast"]) != 1 || len(got["slow"]) != 0 {
					t.Fatalf("with slow open: %v", got)
				}
			})
			if err := x.Drain(bg); err != nil {
				t.Fatal(err)
			}
			got := lines(t, p)
			for _, rid := range []string{"first", "slow", "fast"} {
				if len(got[rid]) != 1 {
					t.Fatalf("%s exported %d times: %v", rid, len(got[rid]), got)
				}
			}
			if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v", fi.Mode().Perm())
			}
		})
	}
}

// forgetful is the store, except that removing exported entries fails
// while fail is set: a tapd killed between the write and the removal.
type forgetful struct {
	store.Audit
	fail bool
}

func (f *forgetful) AuditExported(ctx context.Context, seqs []int64) error {
	if f.fail {
		return errors.New("killed before the removal")
	}
	return f.Audit.AuditExported(ctx, seqs)
}

// TestRepeatsNeverDrops: a failed write keeps the entries queued; a crash
// after the write and before the removal writes them again, with the
// same ids; no entry is ever missing.
func TestRepeatsNeverDrops(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b, func(t *testing.T) {
			st := storetest.Open(t, pg, b)
			p, w := openLog(t)
			fs := &forgetful{Audit: st}
			x := NewExporter(fs, w, nil)
			var want []string
			for i := 0; i < 3*batch/2; i++ {
				want = append(want, fmt.Sprint("r", i))
			}
			appendAudit(t, st, want...)
			// The file is gone from under the writer: nothing is written,
			// nothing leaves the queue.
			w.f.Close()
			if err := x.Drain(bg); err == nil {
				t.Fatal("a pass whose write failed reported success")
			}
			if err := w.Reopen(); err != nil {
				t.Fatal(err)
			}
			fs.fail = true
			if err := x.Drain(bg); err == nil {
				t.Fatal("want the removal's failure")
			}
			fs.fail = false
			if err := x.Drain(bg); err != nil {
				t.Fatal(err)
			}
			got := lines(t, p)
			for _, rid := range want {
				if n := len(got[rid]); n < 1 || n > 2 || (n == 2 && got[rid][0] != got[rid][1]) {
					t.Fatalf("%s: lines with ids %v", rid, got[rid])
				}
			}
			if len(got) != len(want) {
				t.Fatalf("%d request ids exported, want %d", len(got), len(want))
			}
			if rest, _ := st.AuditToExport(bg, 10); len(rest) != 0 {
				t.Fatalf("%d entries still queued", len(rest))
			}
		})
	}
}

// TestReopen: after logrotate moves the file, Reopen writes to a new file
// at the path, and nothing is lost between the two.
func TestReopen(t *testing.T) {
	st := storetest.Open(t, pg, "sqlite")
	p, w := openLog(t)
	x := NewExporter(st, w, nil)
	appendAudit(t, st, "r1")
	if err := x.Drain(bg); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p, p+".1"); err != nil {
		t.Fatal(err)
	}
	appendAudit(t, st, "r2")
	if err := x.Drain(bg); err != nil { // still to the moved file
		t.Fatal(err)
	}
	if err := w.Reopen(); err != nil {
		t.Fatal(err)
	}
	appendAudit(t, st, "r3")
	if err := x.Drain(bg); err != nil {
		t.Fatal(err)
	}
	old, cur := lines(t, p+".1"), lines(t, p)
	if len(old) != 2 || len(old["r2"]) != 1 || len(cur) != 1 || len(cur["r3"]) != 1 {
		t.Fatalf("old %v new %v", old, cur)
	}
}
