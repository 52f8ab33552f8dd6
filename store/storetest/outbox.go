package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/store"
)

func mkEvent(t *testing.T, s store.Store, id string, at time.Time) store.OutboxEvent {
	t.Helper()
	e := store.OutboxEvent{ID: id, Kind: "keyRegistered", Payload: []byte(`{"id":"` + id + `","é":"ü"}`), CreatedAt: at}
	if err := s.EnqueueEvent(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	return e
}

// testOutbox: events are claimed oldest first, leased, retried after a
// failure or an abandoned lease, kept when dead, and gone when delivered.
func testOutbox(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mkEvent(t, s, "ev-a", t0)
	mkEvent(t, s, "ev-b", t0.Add(time.Second))
	mkEvent(t, s, "ev-c", t0.Add(time.Hour)) // not due until then
	if err := s.EnqueueEvent(ctx, a); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("the same id twice: %v", err)
	}
	now := t0.Add(2 * time.Second)
	got, err := s.ClaimEvents(ctx, now, time.Minute, 10)
	if err != nil || len(got) != 2 || got[0].ID != "ev-a" || got[1].ID != "ev-b" {
		t.Fatalf("claim: %+v %v", got, err)
	}
	if got[0].Attempts != 1 || !got[0].NextAttemptAt.Equal(now.Add(time.Minute)) || string(got[0].Payload) != string(a.Payload) ||
		got[0].Kind != "keyRegistered" || !got[0].CreatedAt.Equal(t0) {
		t.Fatalf("claimed event: %+v", got[0])
	}
	// Leased: nobody else gets them until the lease ends.
	if again, _ := s.ClaimEvents(ctx, now.Add(59*time.Second), time.Minute, 10); len(again) != 0 {
		t.Fatalf("claimed while leased: %+v", again)
	}
	if err := s.EventDelivered(ctx, "ev-a"); err != nil {
		t.Fatal(err)
	}
	if err := s.EventDelivered(ctx, "ev-a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delivered twice: %v", err)
	}
	// ev-b's holder died: after the lease it is claimed again.
	later := now.Add(61 * time.Second)
	got, _ = s.ClaimEvents(ctx, later, time.Minute, 10)
	if len(got) != 1 || got[0].ID != "ev-b" || got[0].Attempts != 2 {
		t.Fatalf("abandoned lease: %+v", got)
	}
	if err := s.EventFailed(ctx, "ev-b", later.Add(10*time.Second), "receiver answered 500", false); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ClaimEvents(ctx, later.Add(9*time.Second), time.Minute, 10); len(got) != 0 {
		t.Fatalf("retried before its time: %+v", got)
	}
	if p, d, err := s.CountEvents(ctx); err != nil || p != 2 || d != 0 {
		t.Fatalf("count: %d %d %v", p, d, err)
	}
	got, _ = s.ClaimEvents(ctx, later.Add(10*time.Second), time.Minute, 10)
	if len(got) != 1 || got[0].LastError != "receiver answered 500" || got[0].Attempts != 3 {
		t.Fatalf("retry: %+v", got)
	}
	if err := s.EventFailed(ctx, "ev-b", later, "gave up", true); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ClaimEvents(ctx, t0.Add(48*time.Hour), time.Minute, 10); len(got) != 1 || got[0].ID != "ev-c" {
		t.Fatalf("a dead event was claimed, or ev-c was not: %+v", got)
	}
	if p, d, _ := s.CountEvents(ctx); p != 1 || d != 1 {
		t.Fatalf("count after dead: %d pending %d dead", p, d)
	}
	all, err := s.ListEvents(ctx)
	if err != nil || len(all) != 2 || all[0].ID != "ev-b" || !all[0].Dead || all[0].LastError != "gave up" {
		t.Fatalf("list: %+v %v", all, err)
	}
	if err := s.EventFailed(ctx, "nope", later, "x", false); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("failed unknown: %v", err)
	}
	// The limit is honoured.
	for i := range 5 {
		mkEvent(t, s, fmt.Sprintf("lim-%d", i), t0)
	}
	if got, _ := s.ClaimEvents(ctx, t0, time.Minute, 3); len(got) != 3 {
		t.Fatalf("limit 3: %d", len(got))
	}
}

// testOutboxAtomic: an event enqueued in a transaction that rolls back is
// not kept, so no notification tells of an action that never happened.
func testOutboxAtomic(t *testing.T, s store.Store) {
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.Atomically(ctx, func(tx store.Store) error {
		if err := tx.EnqueueEvent(ctx, store.OutboxEvent{ID: "rolled", Kind: "passUsed", Payload: []byte("{}"), CreatedAt: t0}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if err := s.Atomically(ctx, func(tx store.Store) error {
		return tx.EnqueueEvent(ctx, store.OutboxEvent{ID: "kept", Kind: "passUsed", Payload: []byte("{}"), CreatedAt: t0})
	}); err != nil {
		t.Fatal(err)
	}
	all, _ := s.ListEvents(ctx)
	if len(all) != 1 || all[0].ID != "kept" {
		t.Fatalf("events: %+v", all)
	}
}

// testOutboxClaimRace: claimers racing (several tapd instances) never
// take one event twice within a lease.
func testOutboxClaimRace(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 40
	for i := range n {
		mkEvent(t, s, fmt.Sprintf("race-%02d", i), t0)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				got, err := s.ClaimEvents(ctx, t0, time.Minute, 3)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, e := range got {
					seen[e.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d of %d events claimed", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s claimed %d times", id, c)
		}
	}
}

// testOpenSessions counts the sessions not yet expired.
func testOpenSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	mkUser(t, s, "open@example.com")
	k := mkKiosk(t, s, "open")
	p := mkPass(t, s, "open@example.com", "p-open", false)
	for i, exp := range []time.Time{t0.Add(time.Minute), t0.Add(10 * time.Minute), t0.Add(-time.Minute)} {
		sess := store.Session{ID: fmt.Sprintf("os-%d", i), TokenHash: fmt.Sprintf("th-%d", i), KioskID: k.ID, UPN: "open@example.com",
			PassID: p.ID, CreatedAt: t0.Add(-time.Hour), ExpiresAt: exp}
		if err := s.OpenSession(ctx, sess, false, t0); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.CountOpenSessions(ctx, t0); err != nil || n != 2 {
		t.Fatalf("open at t0: %d %v", n, err)
	}
	if n, _ := s.CountOpenSessions(ctx, t0.Add(5*time.Minute)); n != 1 {
		t.Fatalf("open later: %d", n)
	}
}
