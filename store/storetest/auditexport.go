package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/store"
)

// drainExport takes every queued entry, as the exporter does, and returns
// the request ids it found, in the order found.
func drainExport(t *testing.T, s store.Store) []string {
	t.Helper()
	ctx := context.Background()
	var got []string
	for {
		xs, err := s.AuditToExport(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(xs) == 0 {
			return got
		}
		var seqs []int64
		for _, x := range xs {
			got = append(got, fmt.Sprintf("%s/%d", x.Entry.RequestID, x.Entry.Repeats))
			if x.Entry.ID == 0 {
				t.Fatalf("an exported entry without its id: %+v", x.Entry)
			}
			seqs = append(seqs, x.Seq)
		}
		if err := s.AuditExported(ctx, seqs); err != nil {
			t.Fatal(err)
		}
	}
}

// testAuditExport: every entry kept is queued for the export once, and
// again when its group counts a repeat; an entry dropped with its
// transaction is never queued; marking exported removes exactly what was
// taken.
func testAuditExport(t *testing.T, s store.Store) {
	ctx := context.Background()
	entry := func(rid, group string) store.AuditEntry {
		return store.AuditEntry{At: t0, RequestID: rid, ActorType: "kiosk", Actor: "k", Action: "sessionDenied", Target: "exp@audit.example",
			Result: store.AuditFailure, Reason: "lockedOut", Group: group}
	}
	for _, e := range []store.AuditEntry{entry("x1", ""), entry("x2", "g"), entry("x3", "g")} {
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Atomically(ctx, func(tx store.Store) error {
		if err := tx.AppendAudit(ctx, entry("rolledBack", "")); err != nil {
			t.Fatal(err)
		}
		return fmt.Errorf("roll back")
	})
	got := drainExport(t, s)
	// x2's row is queued twice (made, then its repeat), and read as it is
	// now both times.
	if fmt.Sprint(got) != "[x1/0 x2/1 x2/1]" {
		t.Fatalf("exported %v", got)
	}
	if again := drainExport(t, s); len(again) != 0 {
		t.Fatalf("exported twice: %v", again)
	}
}

// LateCommit appends slow in a transaction, and, while that transaction
// is open, fast on its own. Where the backend lets fast commit first
// (PostgreSQL: slow then commits with the smaller id), whileOpen runs
// between the two commits; where it cannot
// (SQLite: one writer at a time) fast waits for slow and whileOpen is not
// called. Either way both are committed when LateCommit returns.
func LateCommit(t *testing.T, s store.Store, slow, fast store.AuditEntry, whileOpen func()) {
	t.Helper()
	ctx := context.Background()
	appended, release, slowDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	released := false
	releaseSlow := func() {
		if !released {
			released = true
			close(release)
		}
	}
	defer releaseSlow() // a failing whileOpen must not leave slow open
	go func() {
		slowDone <- s.Atomically(ctx, func(tx store.Store) error {
			if err := tx.AppendAudit(ctx, slow); err != nil {
				return err
			}
			close(appended)
			<-release
			return nil
		})
	}()
	select {
	case <-appended:
	case err := <-slowDone:
		t.Fatalf("slow append: %v", err)
	}
	fastDone := make(chan error, 1)
	go func() { fastDone <- s.AppendAudit(ctx, fast) }()
	select {
	case err := <-fastDone: // PostgreSQL: fast commits while slow is open
		if err != nil {
			t.Fatal(err)
		}
		whileOpen()
		releaseSlow()
	case <-time.After(500 * time.Millisecond): // SQLite: one writer at a time
		releaseSlow()
		if err := <-fastDone; err != nil {
			t.Fatal(err)
		}
	}
	if err := <-slowDone; err != nil {
		t.Fatal(err)
	}
}

// testAuditExportLateCommit: an entry whose transaction commits after a
// later-begun one (on PostgreSQL it then has a smaller id than an entry
// already exported) is still exported.
func testAuditExportLateCommit(t *testing.T, s store.Store) {
	entry := func(rid string) store.AuditEntry {
		return store.AuditEntry{At: t0, RequestID: rid, ActorType: "kiosk", Actor: "k", Action: "signIn", Target: "late@audit.example",
			Result: store.AuditSuccess}
	}
	var got []string
	LateCommit(t, s, entry("slow"), entry("fast"), func() {
		got = drainExport(t, s)
		if fmt.Sprint(got) != "[fast/0]" {
			t.Fatalf("with slow still open, exported %v", got)
		}
	})
	got = append(got, drainExport(t, s)...)
	seen := map[string]bool{}
	for _, g := range got {
		seen[g] = true
	}
	if len(got) != 2 || !seen["slow/0"] || !seen["fast/0"] {
		t.Fatalf("exported %v; want slow and fast once each", got)
	}
}

// testSecrets: a secret is made once; every ask, concurrent first asks
// included, gets the same 32 bytes; another name gets another value.
func testSecrets(t *testing.T, s store.Store) {
	ctx := context.Background()
	got := make(chan []byte, 8)
	for i := 0; i < cap(got); i++ {
		go func() {
			b, err := s.Secret(ctx, "one")
			if err != nil {
				t.Error(err)
			}
			got <- b
		}()
	}
	first := <-got
	for i := 1; i < cap(got); i++ {
		if b := <-got; string(b) != string(first) {
			t.Fatal("concurrent first asks got different secrets")
		}
	}
	other, err := s.Secret(ctx, "two")
	if err != nil || len(first) != 32 || string(other) == string(first) {
		t.Fatalf("secrets %x and %x: %v", first, other, err)
	}
}
