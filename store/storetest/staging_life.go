package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/store"
)

// testStagingLife: a row's hold follows its key's registration, and a
// batch or row is deleted, or a row re-issued, only when it holds nothing.
func testStagingLife(t *testing.T, s store.Store) {
	ctx := context.Background()
	b, rows := mkBatch(t, s, "life", "eve@example.com", "fay@example.com", "gus@example.com")
	at := t0.Add(time.Minute)
	reg := rows[0]
	reg.BatchID, reg.State, reg.MethodID, reg.SerialNumber, reg.RegisteredAt, reg.UpdatedAt, reg.RegisteredBy =
		b.ID, store.StagingRegistered, "m-eve", "SN-9", &at, at, "tok-anna"
	if err := s.MarkStagingRow(ctx, reg); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetStagingRow(ctx, b.ID, reg.ID); got.RegisteredBy != "tok-anna" {
		t.Fatalf("registered by %q", got.RegisteredBy)
	}

	// A registered row holds its batch and itself.
	if held, err := s.DeleteStagingBatch(ctx, b.ID, at); !errors.Is(err, store.ErrRegistered) || held.ID != reg.ID {
		t.Fatalf("delete a batch with a key: %+v %v", held, err)
	}
	if _, rs, err := s.GetStagingBatch(ctx, b.ID); err != nil || len(rs) != 3 {
		t.Fatalf("a refused delete took rows: %d %v", len(rs), err)
	}
	if _, err := s.DeleteStagingRow(ctx, b.ID, reg.ID, at); !errors.Is(err, store.ErrRegistered) {
		t.Fatalf("delete a registered row: %v", err)
	}
	// Only this person's registered row with that key turns removed.
	if n, err := s.StagedKeyRemoved(ctx, "fay@example.com", "m-eve", at); err != nil || n != 0 {
		t.Fatalf("another person's key: %d %v", n, err)
	}
	if n, err := s.StagedKeyRemoved(ctx, "EVE@example.com", "m-eve", at.Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("removed %d %v", n, err)
	}
	got, err := s.GetStagingRow(ctx, b.ID, reg.ID)
	if err != nil || got.State != store.StagingRemoved || got.MethodID != "m-eve" || got.SerialNumber != "SN-9" || !got.UpdatedAt.Equal(at.Add(time.Second)) {
		t.Fatalf("removed row %+v %v", got, err)
	}
	if n, _ := s.StagedKeyRemoved(ctx, "eve@example.com", "m-eve", at); n != 0 {
		t.Fatal("a removed row removed twice")
	}
	if act, err := s.ActiveStagingRows(ctx, "eve@example.com"); err != nil || len(act) != 0 {
		t.Fatalf("a removed row holds its person: %+v %v", act, err)
	}
	if bb, _, _ := s.GetStagingBatch(ctx, b.ID); bb.Removed != 1 || bb.Registered != 0 || bb.Pending != 2 {
		t.Fatalf("counts %+v", bb)
	}
	// A removed row takes no lease, no new state and no registration:
	// it is re-issued.
	if _, err := s.LeaseStagingRow(ctx, b.ID, reg.ID, store.StagingLease{CeremonyID: "c", OperatorID: "o", Until: at.Add(time.Hour)}, at); !errors.Is(err, store.ErrRegistered) {
		t.Fatalf("lease a removed row: %v", err)
	}
	back := got
	back.State = store.StagingPending
	if err := s.MarkStagingRow(ctx, back); !errors.Is(err, store.ErrRegistered) {
		t.Fatalf("mark a removed row: %v", err)
	}
	if err := s.ReissueStagingRow(ctx, b.ID, reg.ID, "m-other", at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("re-issue naming another key: %v", err)
	}
	if err := s.ReissueStagingRow(ctx, b.ID, rows[1].ID, "", at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("re-issue a pending row: %v", err)
	}
	if err := s.ReissueStagingRow(ctx, b.ID, reg.ID, "m-eve", at.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetStagingRow(ctx, b.ID, reg.ID)
	if got.State != store.StagingPending || got.MethodID != "" || got.SerialNumber != "" || got.RegisteredAt != nil || got.RegisteredBy != "" || got.DisplayName != reg.DisplayName {
		t.Fatalf("re-issued row %+v", got)
	}
	if act, _ := s.ActiveStagingRows(ctx, "eve@example.com"); len(act) != 1 {
		t.Fatal("a re-issued row does not hold its person")
	}
	// A registered row is re-issued directly too.
	reg2 := rows[2]
	reg2.BatchID, reg2.State, reg2.MethodID, reg2.RegisteredAt, reg2.UpdatedAt = b.ID, store.StagingRegistered, "m-gus", &at, at
	if err := s.MarkStagingRow(ctx, reg2); err != nil {
		t.Fatal(err)
	}
	if err := s.ReissueStagingRow(ctx, b.ID, reg2.ID, "m-gus", at); err != nil {
		t.Fatal(err)
	}

	// A row a station holds stays, until its lease ends.
	l := store.StagingLease{CeremonyID: "chal", OperatorID: "op", Until: at.Add(5 * time.Minute)}
	if _, err := s.LeaseStagingRow(ctx, b.ID, rows[1].ID, l, at); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteStagingRow(ctx, b.ID, rows[1].ID, at); !errors.Is(err, store.ErrLeased) {
		t.Fatalf("delete a leased row: %v", err)
	}
	if held, err := s.DeleteStagingBatch(ctx, b.ID, at); !errors.Is(err, store.ErrLeased) || held.ID != rows[1].ID {
		t.Fatalf("delete a batch with a leased row: %+v %v", held, err)
	}
	if _, rs, _ := s.GetStagingBatch(ctx, b.ID); len(rs) != 3 {
		t.Fatal("a refused batch delete took rows")
	}
	gone, err := s.DeleteStagingRow(ctx, b.ID, rows[1].ID, l.Until)
	if err != nil || gone.UPN != "fay@example.com" {
		t.Fatalf("delete a row whose lease ended: %+v %v", gone, err)
	}
	if _, err := s.DeleteStagingRow(ctx, b.ID, rows[1].ID, at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete it twice: %v", err)
	}
	if _, err := s.DeleteStagingBatch(ctx, b.ID, at); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.GetStagingBatch(ctx, b.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted batch: %v", err)
	}
	if _, err := s.GetStagingRow(ctx, b.ID, reg.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a deleted batch's row: %v", err)
	}
	if _, err := s.DeleteStagingBatch(ctx, b.ID, at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete it twice: %v", err)
	}
	// The name is free again; a row keeps its person's letter language.
	nb := store.StagingBatch{ID: "b-life2", Name: "life", CreatedAt: t0}
	if err := s.CreateStagingBatch(ctx, nb, []store.StagingRow{{ID: "l2-r0", UPN: "eve@example.com", Language: "sv-SE"}}); err != nil {
		t.Fatal(err)
	}
	if r, err := s.GetStagingRow(ctx, nb.ID, "l2-r0"); err != nil || r.Language != "sv-SE" {
		t.Fatalf("language %q %v", r.Language, err)
	}
}
