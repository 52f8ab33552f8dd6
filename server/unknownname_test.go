package server

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/recovery"
	"github.com/tapkiosk/tapkiosk/store"
)

// TestUnknownNameIsNotKept: a pass typed into the name field (a name that
// matches no user) is kept nowhere tapd writes it: not in the audit
// entry (its target is a keyed hash), not in the export's queue, not as a
// lockout key. The admin who asks for that exact name still finds the
// attempts, and repeats of one name share one pseudonym.
func TestUnknownNameIsNotKept(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.enablePolicy()
		const secret = "Tz8qPass4Wd"
		typed := secret + "@Example.com"
		for i := 0; i < 2; i++ {
			_, err := e.fresh(e.kiosk).OpenSession(bg, typed, "AnyPass123")
			code(t, err, 401, api.CodeInvalidCredentials)
		}
		all, err := e.st.ListAudit(bg, store.AuditFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var denied []store.AuditEntry
		for _, a := range all {
			if a.Action == api.ActionSessionDenied {
				denied = append(denied, a)
			}
		}
		queued, err := e.st.AuditToExport(bg, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range queued {
			all = append(all, x.Entry)
		}
		for _, a := range all {
			b, _ := json.Marshal(a)
			if strings.Contains(strings.ToLower(string(b)), strings.ToLower(secret)) {
				t.Fatalf("the typed name is kept: %s", b)
			}
		}
		key, err := e.st.Secret(bg, recovery.PseudonymSecret)
		if err != nil {
			t.Fatal(err)
		}
		want := recovery.Pseudonym(key, typed)
		if len(denied) != 2 || denied[0].Target != want || denied[1].Target != want || denied[0].Reason != "unknownUser" {
			t.Fatalf("denials %+v; want two unknownUser under %s", denied, want)
		}
		if th, _ := e.st.GetThrottle(bg, "user:"+strings.ToLower(typed)); th.Checked != 0 || th.Failures != 0 {
			t.Fatalf("a lockout key holds the typed name: %+v", th)
		}
		// Nor any other key: the account's at each kiosk included.
		ths, err := e.st.ListThrottles(bg, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, th := range ths {
			if strings.Contains(strings.ToLower(th.Key), strings.ToLower(secret)) {
				t.Fatalf("lockout key %q holds the typed name", th.Key)
			}
		}
		if th, _ := e.st.GetThrottle(bg, "user:"+want); th.Failures != 2 {
			t.Fatalf("the name's guesses are not counted under its pseudonym: %+v", th)
		}
		es, err := e.admin.Audit(bg, api.AuditQuery{User: typed})
		if err != nil || len(es) != 2 {
			t.Fatalf("asking for the name found %d entries: %v", len(es), err)
		}
	})
}
