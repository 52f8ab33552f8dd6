package server

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
	"github.com/tapkiosk/tapkiosk/recovery"
	"github.com/tapkiosk/tapkiosk/store"
)

// recorder is a recovery.Observer that keeps what it heard.
type recorder struct {
	mu      sync.Mutex
	audited []store.AuditEntry
	locks   []string
	refused int
	maxUse  int
}

func (r *recorder) Audited(e store.AuditEntry) {
	r.mu.Lock()
	r.audited = append(r.audited, e)
	r.mu.Unlock()
}
func (r *recorder) Locked(kind string, _ time.Duration) {
	r.mu.Lock()
	r.locks = append(r.locks, kind)
	r.mu.Unlock()
}
func (r *recorder) HashSlots(inUse, _ int, refused bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.maxUse = max(r.maxUse, inUse)
	if refused {
		r.refused++
	}
}

func (r *recorder) actions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.audited {
		out = append(out, e.Action+"/"+string(e.Result))
	}
	return out
}

// TestNotificationsAndObserver: a journey with notifications on queues one
// event per action someone should hear of, in the action's transaction,
// each body the notification as delivered; the observer hears every audit
// entry that was kept, and the locks and hash slots.
func TestNotificationsAndObserver(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		rec := &recorder{}
		e.reconfigure(func(c *recovery.Config) { c.Observer = rec; c.Notify = true })
		path, _ := plugKey(t, virtualkey.Options{})
		k := e.signIn("nia@example.com")
		m := register(t, k, path)

		// Ten wrong passes lock the account: one lockout notice.
		e.addUser(api.User{UserPrincipalName: "lou@example.com"})
		e.newPass("lou@example.com", api.CreatePassRequest{})
		for range 10 {
			e.fresh(e.kiosk).OpenSession(bg, "lou@example.com", "WrongPass99")
		}
		evs, err := e.st.ListEvents(bg)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, ev := range evs {
			var n api.Notification
			if err := json.Unmarshal(ev.Payload, &n); err != nil || n.ID != ev.ID || n.Type != ev.Kind || n.RequestID == "" {
				t.Fatalf("event %+v: %v", ev, err)
			}
			kinds = append(kinds, n.Type+":"+n.UserPrincipalName)
			if n.Type == api.NotifyLockout && (n.Details["lockStarted"] != "user" || n.Details["lockedUntil"] == "") {
				t.Errorf("lockout details: %+v", n.Details)
			}
			if n.Type == api.NotifyKeyRegistered && (n.Details["methodId"] == "" || n.Actor.Type != "kiosk") {
				t.Errorf("key registered: %+v", n)
			}
		}
		for _, want := range []string{"passUsed:nia@example.com", "keyRegistered:nia@example.com", "lockout:lou@example.com"} {
			if !slices.Contains(kinds, want) {
				t.Errorf("no %s event in %v", want, kinds)
			}
		}
		if n := strings.Count(strings.Join(kinds, " "), "lockout:"); n != 1 {
			t.Errorf("%d lockout events, want 1", n)
		}
		acts := rec.actions()
		for _, want := range []string{"signIn/success", "registerFido2/success", "sessionDenied/failure", "createPass/success"} {
			if !slices.Contains(acts, want) {
				t.Errorf("observer missed %s: %v", want, acts)
			}
		}
		rec.mu.Lock()
		if !slices.Contains(rec.locks, "user") || rec.maxUse < 1 {
			t.Errorf("locks %v, hash slots used %d", rec.locks, rec.maxUse)
		}
		rec.mu.Unlock()

		// Removing a method is told of too.
		if err := e.admin.DeleteUserMethod(bg, "nia@example.com", m.ID); err != nil {
			t.Fatal(err)
		}
		evs, _ = e.st.ListEvents(bg)
		if !slices.ContainsFunc(evs, func(ev store.OutboxEvent) bool { return ev.Kind == api.NotifyMethodRemoved }) || len(evs) != 4 {
			t.Errorf("after the delete: %d events, no methodRemoved among them", len(evs))
		}
	})
}

// TestNoNotificationsWhenOff: without a webhook nothing is queued.
func TestNoNotificationsWhenOff(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.signIn("off@example.com")
	if evs, _ := e.st.ListEvents(bg); len(evs) != 0 {
		t.Fatalf("queued with notifications off: %+v", evs)
	}
}
