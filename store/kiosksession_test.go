package store_test

import (
	"context"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/store"
)

// TestPollReadStartsNoGoroutine: the poll's one statement on SQLite, under
// a request's cancellable context, starts no goroutine (database/sql's rows
// watcher and modernc's interrupt watcher were two per poll), and still
// refuses a context that has already ended. Counted with the runtime's
// goroutines-created metric, not timed.
func TestPollReadStartsNoGoroutine(t *testing.T) {
	s := openMigrated(t, "sqlite")
	bg := context.Background()
	k := store.Kiosk{ID: "k1", Name: "k1", TokenHash: "kh", CreatedAt: t0}
	if err := s.CreateKiosk(bg, k); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(bg, store.User{UPN: "ada@example.com", UserType: "Member", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReplacePass(bg, store.Pass{ID: "p1", UPN: "ada@example.com", Hash: "x", CreatedAt: t0, StartAt: t0, LifetimeMinutes: 60}); err != nil {
		t.Fatal(err)
	}
	if err := s.OpenSession(bg, store.Session{ID: "s1", TokenHash: "sh", KioskID: k.ID, UPN: "ada@example.com", PassID: "p1",
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}, false, t0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	poll := func() {
		ks, err := s.GetKioskSession(ctx, "kh", "sh")
		if err != nil || ks.Session == nil || ks.Session.ID != "s1" {
			t.Fatalf("%+v, %v", ks, err)
		}
	}
	poll() // opens the read connection and prepares the statement
	created := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(created)
	before := created[0].Value.Uint64()
	const polls = 200
	for range polls {
		poll()
	}
	metrics.Read(created)
	if n := created[0].Value.Uint64() - before; n > polls/4 {
		t.Fatalf("%d polls started %d goroutines, want none (a few for the runtime at most)", polls, n)
	}
	cancel()
	if _, err := s.GetKioskSession(ctx, "kh", "sh"); err == nil {
		t.Fatal("a poll under an ended context ran")
	}
}
