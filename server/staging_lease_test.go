package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
	"github.com/tapkiosk/tapkiosk/recovery"
)

// leaseMode is one directory mode for the lease tests: how to add the
// person, and how many key writes reached the directory.
type leaseMode struct {
	e      *env
	upn    string
	writes func() int
	// fail makes the directory's next key write fail for certain
	// (definite) or with its outcome unknown; nil where writes cannot be
	// made to fail (the local directory: one transaction, no outcome is
	// unknown there).
	fail func(definite bool)
}

func localLease(t *testing.T, backend string) leaseMode {
	e := newEnv(t, backend)
	e.addUser(api.User{UserPrincipalName: "ada@example.com"})
	return leaseMode{e: e, upn: "ada@example.com", writes: func() int {
		ms, _ := e.st.ListMethods(bg, "ada@example.com")
		return len(ms)
	}}
}

func entraLease(t *testing.T, backend string) leaseMode {
	e := newEntraEnv(t, backend)
	post := "POST /v1.0/users/" + e.sim.AddUser("ada@contoso.com", "Ada Lovelace", "Member", false) + "/authentication/fido2Methods"
	return leaseMode{e: e.env, upn: "ada@contoso.com", writes: func() int {
		n := 0
		for _, r := range e.sim.Requests {
			if r == post {
				n++
			}
		}
		return n
	}, fail: func(definite bool) {
		if definite {
			e.sim.FailMatching(post, 1, http.StatusBadRequest, "badRequest", "No.", 0)
		} else {
			e.sim.FailMatching(post, 1, http.StatusServiceUnavailable, "serviceNotAvailable", "Later.", 0)
		}
	}}
}

func forEachLeaseMode(t *testing.T, fn func(t *testing.T, m leaseMode)) {
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run("local/"+b, func(t *testing.T) { fn(t, localLease(t, b)) })
		t.Run("entra/"+b, func(t *testing.T) { fn(t, entraLease(t, b)) })
	}
}

func (m leaseMode) batch(t *testing.T, name string) (api.StagingBatch, string) {
	t.Helper()
	b, err := m.e.admin.CreateStagingBatch(bg, api.CreateStagingBatchRequest{Name: name, Users: []api.StagingPerson{{UserPrincipalName: m.upn}}})
	if err != nil {
		t.Fatal(err)
	}
	return b, b.Rows[0].ID
}

func staged(raw json.RawMessage, b api.StagingBatch, row string) api.StagedFIDO2Request {
	return api.StagedFIDO2Request{RegisterFIDO2Request: api.RegisterFIDO2Request{PublicKeyCredential: raw}, StagingBatchID: b.ID, StagingRowID: row}
}

// TestStagingRowRace: four ceremonies for one row (the kiosk restarted
// three times, each taking the row over) race to register with four
// keys, while another station is kept out: exactly one key is written to
// the directory, the last ceremony's, and the row names it.
func TestStagingRowRace(t *testing.T) {
	forEachLeaseMode(t, func(t *testing.T, m leaseMode) {
		e := m.e
		b, row := m.batch(t, "race")
		var answers []json.RawMessage
		for range 4 {
			path, _ := plugKey(t, virtualkey.Options{})
			answers = append(answers, stagedAnswer(t, e.admin, m.upn, path, b.ID, row))
		}
		other := e.tokenClient("station-2", api.RolePrivilegedAuthenticationAdministrator)
		_, err := other.UserCreationOptions(bg, m.upn, b.ID, row)
		if ae := code(t, err, 409, api.CodeStagingRowBusy); ae.RetryAfterSeconds < 60 || !strings.Contains(ae.Message, "until 09:") {
			t.Fatalf("busy: %+v", ae)
		}
		var wg sync.WaitGroup
		errs := make([]error, len(answers))
		ids := make([]string, len(answers))
		for i, raw := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var got api.FIDO2Method
				got, errs[i] = e.admin.RegisterUserFIDO2(bg, m.upn, staged(raw, b, row))
				ids[i] = got.ID
			}()
		}
		wg.Wait()
		for i, err := range errs[:3] {
			if ae, ok := err.(*api.Error); !ok || (ae.Code != api.CodeStagingRowBusy && ae.Code != api.CodeStagingRowRegistered) {
				t.Errorf("a taken-over ceremony %d: %v", i, err)
			}
		}
		if errs[3] != nil {
			t.Fatalf("the ceremony holding the row: %v", errs[3])
		}
		if n := m.writes(); n != 1 {
			t.Fatalf("%d keys written to the directory for one row", n)
		}
		got, _ := e.admin.GetStagingBatch(bg, b.ID)
		if r := got.Rows[0]; r.State != api.StagingRegistered || r.MethodID != ids[3] {
			t.Fatalf("row %+v, want method %s", r, ids[3])
		}
		es, _ := e.admin.Audit(bg, api.AuditQuery{Action: api.ActionRegisterFIDO2, Result: "failure"})
		if len(es) != 3 {
			t.Fatalf("%d refusals audited, want 3: %+v", len(es), es)
		}
		// Registered now: the other station hears so, not "busy".
		_, err = other.UserCreationOptions(bg, m.upn, b.ID, row)
		code(t, err, 409, api.CodeStagingRowRegistered)
	})
}

// TestStagingRowLease: the lease's life. It ends with the challenge, so
// another station then gets the row; an answer to options asked without
// the row cannot register with it; a write that surely failed gives the
// row back at once, one whose outcome is unknown keeps it until the
// write window ends. Nothing refused reaches the directory.
func TestStagingRowLease(t *testing.T) {
	forEachLeaseMode(t, func(t *testing.T, m leaseMode) {
		e := m.e
		b, row := m.batch(t, "lease")
		path, _ := plugKey(t, virtualkey.Options{})
		first := stagedAnswer(t, e.admin, m.upn, path, b.ID, row)
		other := e.tokenClient("station-2", api.RolePrivilegedAuthenticationAdministrator)
		_, err := other.UserCreationOptions(bg, m.upn, b.ID, row)
		code(t, err, 409, api.CodeStagingRowBusy)
		// Options without the row lease nothing: their answer is refused
		// with the row, as busy while the row is held, and as not issued
		// for it once the hold has ended.
		loose := stagedAnswer(t, other, m.upn, path, "", "")
		_, err = other.RegisterUserFIDO2(bg, m.upn, staged(loose, b, row))
		code(t, err, 409, api.CodeStagingRowBusy)
		e.clock.Advance(5*time.Minute + time.Second)
		loose = stagedAnswer(t, other, m.upn, path, "", "")
		_, err = other.RegisterUserFIDO2(bg, m.upn, staged(loose, b, row))
		code(t, err, 400, api.CodeChallengeInvalid)
		// The row is anyone's now; the first answer is stale.
		second := stagedAnswer(t, other, m.upn, path, b.ID, row)
		_, err = e.admin.RegisterUserFIDO2(bg, m.upn, staged(first, b, row))
		code(t, err, 400, api.CodeChallengeExpired)
		_, err = e.admin.UserCreationOptions(bg, m.upn, b.ID, row)
		code(t, err, 409, api.CodeStagingRowBusy)
		if n := m.writes(); n != 0 {
			t.Fatalf("refused registrations wrote %d keys", n)
		}
		es, _ := e.admin.Audit(bg, api.AuditQuery{Action: api.ActionRegisterFIDO2, Result: "failure"})
		if len(es) != 3 || es[0].ResultReason != string(api.CodeChallengeExpired) || es[1].ResultReason != string(api.CodeChallengeInvalid) ||
			es[2].ResultReason != string(api.CodeStagingRowBusy) {
			t.Fatalf("refusals audited %+v", es)
		}

		if m.fail == nil {
			return
		}
		// A write the directory surely refused gives the row back at once.
		m.fail(true)
		if _, err := other.RegisterUserFIDO2(bg, m.upn, staged(second, b, row)); err == nil {
			t.Fatal("a refused write succeeded")
		}
		third := stagedAnswer(t, e.admin, m.upn, path, b.ID, row)
		// One whose outcome is unknown keeps it, against its own operator
		// too, until the write window ends.
		m.fail(false)
		_, err = e.admin.RegisterUserFIDO2(bg, m.upn, staged(third, b, row))
		code(t, err, 503, api.CodeDirectoryUnavailable)
		_, err = e.admin.UserCreationOptions(bg, m.upn, b.ID, row)
		code(t, err, 409, api.CodeStagingRowBusy)
		e.clock.Advance(recovery.StagingWriteWindow)
		fourth := stagedAnswer(t, e.admin, m.upn, path, b.ID, row)
		if _, err := e.admin.RegisterUserFIDO2(bg, m.upn, staged(fourth, b, row)); err != nil {
			t.Fatal(err)
		}
	})
}
