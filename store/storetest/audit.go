// Conformance tests of the audit trail: actions and their audit entries
// kept together, audit groups, and reading the trail back.

package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/store"
)

// testAtomically: an action and its audit entry are kept together or not
// at all; inside, reads see the transaction's own writes, and calls that
// open their own transaction (ReplacePass) join it.
func testAtomically(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := store.User{UPN: "atom@atomic.example", DisplayName: "Atom", UserType: "Member", CreatedAt: t0}
	audit := store.AuditEntry{At: t0, RequestID: "atomic", ActorType: "admin", Actor: "root", Action: "createPass", Target: u.UPN, Result: store.AuditSuccess}
	boom := errors.New("the audit could not be written")
	err := s.Atomically(ctx, func(tx store.Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if _, err := tx.ReplacePass(ctx, store.Pass{ID: "atomic-pass", UPN: u.UPN, Hash: "h", CreatedAt: t0, StartAt: t0, LifetimeMinutes: 60}); err != nil {
			return err
		}
		if _, err := tx.GetPass(ctx, u.UPN); err != nil {
			t.Errorf("a read inside does not see the write: %v", err)
		}
		// The policy is read in one statement of its own; inside, it too
		// must read the transaction, not the pool beside it.
		if err := tx.PutTAPPolicy(ctx, store.TAPPolicy{Enabled: true, MinimumLifetimeMinutes: 61, MaximumLifetimeMinutes: 480, DefaultLifetimeMinutes: 61,
			DefaultLength: 8, IncludeTargets: []store.PolicyTarget{{Type: "group", ID: "atomic-group"}}}); err != nil {
			return err
		}
		if p, err := tx.GetTAPPolicy(ctx); err != nil || p.MinimumLifetimeMinutes != 61 || len(p.IncludeTargets) != 1 || p.IncludeTargets[0].ID != "atomic-group" {
			t.Errorf("a policy read inside does not see the write: %+v %v", p, err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("the error from fn must come back as it is: %v", err)
	}
	if _, err := s.GetUser(ctx, u.UPN); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a rolled-back user was kept: %v", err)
	}
	if p, err := s.GetTAPPolicy(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a rolled-back policy was kept: %+v %v", p, err)
	}
	err = s.Atomically(ctx, func(tx store.Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if _, err := tx.ReplacePass(ctx, store.Pass{ID: "atomic-pass", UPN: u.UPN, Hash: "h", CreatedAt: t0, StartAt: t0, LifetimeMinutes: 60}); err != nil {
			return err
		}
		return tx.Atomically(ctx, func(inner store.Store) error { return inner.AppendAudit(ctx, audit) })
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetPass(ctx, u.UPN); err != nil {
		t.Fatalf("committed pass: %v", err)
	}
	if es, _ := s.ListAudit(ctx, store.AuditFilter{Target: u.UPN}); len(es) != 1 || es[0].RequestID != "atomic" {
		t.Fatalf("committed audit: %+v", es)
	}
}

// testAuditGroups: entries of one group are one row with a count.
func testAuditGroups(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		e := store.AuditEntry{At: t0.Add(time.Duration(i) * time.Second), RequestID: fmt.Sprint("g", i), ActorType: "kiosk", Actor: "k",
			Action: "sessionDenied", Target: "grp@audit.example", Result: store.AuditFailure, Reason: "lockedOut", Group: "lockedOut|user:grp@audit.example|1"}
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	other := store.AuditEntry{At: t0, RequestID: "g9", ActorType: "kiosk", Actor: "k", Action: "sessionDenied", Target: "grp@audit.example",
		Result: store.AuditFailure, Reason: "lockedOut", Group: "lockedOut|user:grp@audit.example|2"}
	if err := s.AppendAudit(ctx, other); err != nil {
		t.Fatal(err)
	}
	es, err := s.ListAudit(ctx, store.AuditFilter{Target: "grp@audit.example"})
	if err != nil || len(es) != 2 {
		t.Fatalf("want one row per group, got %d: %v", len(es), err)
	}
	if es[1].RequestID != "g0" || es[1].Repeats != 4 || es[0].Repeats != 0 || es[1].Group == "" {
		t.Fatalf("first group row %+v, second %+v", es[1], es[0])
	}
}

func testAudit(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i, action := range []string{"signIn", "signIn", "createPass"} {
		e := store.AuditEntry{At: t0.Add(time.Duration(i) * time.Minute), RequestID: fmt.Sprint("r", i), ActorType: "kiosk", Actor: "audit-kiosk",
			Action: action, Target: "Aud@audit.example", Result: "failure", Reason: "wrongPass", Details: map[string]string{"n": fmt.Sprint(i)}}
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	es, err := s.ListAudit(ctx, store.AuditFilter{Target: "aud@audit.example", Action: "signIn"})
	if err != nil || len(es) != 2 || es[0].RequestID != "r1" || es[0].Details["n"] != "1" {
		t.Fatalf("got %+v %v", es, err)
	}
	es, _ = s.ListAudit(ctx, store.AuditFilter{Target: "aud@audit.example", Since: t0.Add(90 * time.Second)})
	if len(es) != 1 || es[0].Action != "createPass" {
		t.Fatalf("since: %+v", es)
	}
	es, _ = s.ListAudit(ctx, store.AuditFilter{Target: "aud@audit.example", Limit: 1})
	if len(es) != 1 {
		t.Fatal("limit")
	}
	es2, _ := s.ListAudit(ctx, store.AuditFilter{Target: "aud@audit.example", Before: es[0].ID})
	if len(es2) != 2 {
		t.Fatalf("paging: %d", len(es2))
	}
}
