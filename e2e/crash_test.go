package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/internal/testutil"
	"github.com/tapkiosk/tapkiosk/store"
)

// TestKillNineKeepsAuditAndDataTogether kills tapd with SIGKILL again and
// again while people are signed in and passes made and deleted, then
// checks the database: every change has its audit entry and every
// success in the audit has its change. A crash leaves both or neither.
// And the audit export (--audit-log) holds every committed entry.
func TestKillNineKeepsAuditAndDataTogether(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			db := "sqlite://" + filepath.Join(t.TempDir(), "tapd.db")
			if backend == "postgres" {
				var err error
				if db, err = pg.NewDatabase(bg); err != nil {
					t.Fatal(err)
				}
			}
			crashJourneys(t, db)
		})
	}
}

func crashJourneys(t *testing.T, db string) {
	tok := initDB(t, db)
	addr := freeAddr(t)
	url := "http://" + addr
	auditPath := filepath.Join(t.TempDir(), "audit.jsonl")
	start := func() *tapd {
		cmd := exec.Command(filepath.Join(bin, "tapd"), "serve", "--db", db, "--listen", addr, "--log-format", "json", "--audit-log", auditPath)
		cmd.Stderr = &testutil.SyncBuffer{}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		d := &tapd{cmd: cmd, url: url, logs: cmd.Stderr.(*testutil.SyncBuffer), done: make(chan error, 1)}
		go func() { d.done <- cmd.Wait() }()
		d.waitReady(t)
		return d
	}
	// kill is SIGKILL, then the wait for the process to be gone.
	kill := func(d *tapd) {
		d.cmd.Process.Kill()
		<-d.done
	}
	d := start()
	admin := api.NewClient(url, tok)
	on := "enabled"
	if _, err := admin.UpdatePolicy(bg, api.PolicyPatch{State: &on}); err != nil {
		t.Fatal(err)
	}
	k, err := admin.CreateKiosk(bg, "crash")
	if err != nil {
		t.Fatal(err)
	}

	// Journeys run until the killer has killed tapd enough times; every
	// error is expected (tapd is down half the time) and ignored.
	ctx, stop := context.WithCancel(bg)
	const workers = 4
	journeys := make(chan int, workers)
	for w := 0; w < workers; w++ {
		go journeyLoop(ctx, admin, url, k.Token, w, journeys)
	}
	const kills = 12
	for i := 0; i < kills; i++ {
		time.Sleep(time.Duration(100+rand.IntN(300)) * time.Millisecond)
		kill(d)
		d = start()
	}
	stop()
	n := 0
	for w := 0; w < workers; w++ {
		n += <-journeys
	}
	t.Logf("%d journeys finished across %d kills", n, kills)
	waitExported(t, db)
	kill(d)
	checkAuditMatchesData(t, db)
	checkExportHoldsAll(t, db, auditPath)
}

// waitExported waits until the running tapd has exported every queued
// audit entry.
func waitExported(t *testing.T, db string) {
	st, err := store.Open(bg, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		q, err := st.AuditToExport(bg, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(q) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the audit export still has entries queued after 30 s")
		}
	}
}

// checkExportHoldsAll: every audit row in the database has at least one
// line in the export file (a crash may repeat a line, never drop one).
func checkExportHoldsAll(t *testing.T, db, auditPath string) {
	st, err := store.Open(bg, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	raw, err := os.ReadFile(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	exported := map[int64]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var e struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("export line %q: %v", l, err)
		}
		exported[e.ID] = true
	}
	n, missing := 0, 0
	for before := int64(0); ; {
		page, err := st.ListAudit(bg, store.AuditFilter{Limit: 1000, Before: before})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			n++
			if !exported[e.ID] {
				missing++
				t.Errorf("audit entry %d (%s %s) is not in the export", e.ID, e.Action, e.Target)
			}
		}
		if len(page) < 1000 {
			break
		}
		before = page[len(page)-1].ID
	}
	t.Logf("%d audit entries, %d missing from the export", n, missing)
}

// journeyLoop makes people, passes and sessions until ctx ends; every
// error is expected (tapd is down half the time) and ignored. It sends
// how many journeys finished.
func journeyLoop(ctx context.Context, admin *api.Client, url, kioskToken string, w int, done chan<- int) {
	n := 0
	for i := 0; ctx.Err() == nil; i++ {
		func() {
			upn := fmt.Sprintf("crash%d-%04d@example.com", w, i)
			c, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			if _, err := admin.CreateUser(c, api.User{UserPrincipalName: upn, DisplayName: "Crash " + upn}); err == nil {
				if p, err := admin.CreatePass(c, upn, api.CreatePassRequest{}); err == nil {
					kc := api.NewClient(url, kioskToken)
					if _, err := kc.OpenSession(c, upn, *p.TemporaryAccessPass); err == nil {
						if i%2 == 0 {
							kc.DeleteSessionPass(c)
						} else {
							kc.SignOut(c)
						}
						n++
					}
				}
			}

		}()
	}
	done <- n
}

// checkAuditMatchesData reads the database directly.
func checkAuditMatchesData(t *testing.T, db string) {
	st, err := store.Open(bg, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var es []store.AuditEntry
	for before := int64(0); ; {
		page, err := st.ListAudit(bg, store.AuditFilter{Limit: 1000, Result: string(store.AuditSuccess), Before: before})
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, page...)
		if len(page) < 1000 {
			break
		}
		before = page[len(page)-1].ID
	}
	created, deleted, signedIn, ended := map[string]string{}, map[string]bool{}, map[string]string{}, map[string]bool{}
	usersAudited := map[string]bool{}
	for _, e := range es {
		switch e.Action {
		case api.ActionCreateUser:
			usersAudited[strings.ToLower(e.Target)] = true
		case api.ActionCreatePass:
			created[e.Details["passId"]] = e.Target
		case api.ActionDeletePass:
			deleted[e.Details["passId"]] = true
			ended[e.Details["sessionId"]] = true
		case api.ActionSignIn:
			signedIn[e.Details["sessionId"]] = e.Details["passId"]
		case api.ActionSignOut:
			ended[e.Details["sessionId"]] = true
		}
	}
	us, err := st.ListUsers(bg)
	if err != nil {
		t.Fatal(err)
	}
	if len(us) < 3 {
		t.Fatalf("only %d users were made: the test did not exercise tapd", len(us))
	}
	for _, u := range us {
		if !usersAudited[strings.ToLower(u.UPN)] {
			t.Errorf("user %s exists without its createUser audit entry", u.UPN)
		}
		p, err := st.GetPass(bg, u.UPN)
		switch {
		case err == nil && created[p.ID] == "":
			t.Errorf("pass %s of %s exists without its createPass audit entry", p.ID, u.UPN)
		case err == nil && deleted[p.ID]:
			t.Errorf("pass %s is audited deleted but still exists", p.ID)
		}
	}
	for id, upn := range created {
		if _, err := st.GetPass(bg, upn); err != nil && !deleted[id] {
			t.Errorf("pass %s of %s is audited created but is gone without a deletePass entry", id, upn)
		}
	}
	// Sessions have no lookup by id in the store (only by token hash),
	// so read their ids straight from the table.
	rows, err := st.DB().QueryContext(bg, `SELECT id FROM sessions`)
	if err != nil {
		t.Fatal(err)
	}
	open := map[string]bool{}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		open[id] = true
		if _, ok := signedIn[id]; !ok {
			t.Errorf("session %s exists without its signIn audit entry", id)
		}
	}
	rows.Close()
	for sid, pid := range signedIn {
		if !ended[sid] && !deleted[pid] && !open[sid] {
			t.Errorf("session %s is audited opened, was never ended, and is gone", sid)
		}
		if ended[sid] && open[sid] {
			t.Errorf("session %s is audited ended but still exists", sid)
		}
	}
}
