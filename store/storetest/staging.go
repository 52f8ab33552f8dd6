// Conformance tests of staging batches: making and reading batches, and
// leasing their rows, alone and concurrently.

package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/store"
)

func mkBatch(t *testing.T, s store.Store, name string, upns ...string) (store.StagingBatch, []store.StagingRow) {
	t.Helper()
	b := store.StagingBatch{ID: "b-" + name, Name: name, CreatedAt: t0, CreatedBy: "helpdesk"}
	var rows []store.StagingRow
	for i, u := range upns {
		rows = append(rows, store.StagingRow{ID: fmt.Sprintf("%s-r%d", name, i), UPN: u, DisplayName: "Person " + u, KeyName: "Key of " + u})
	}
	if err := s.CreateStagingBatch(context.Background(), b, rows); err != nil {
		t.Fatal(err)
	}
	return b, rows
}

func testStaging(t *testing.T, s store.Store) {
	ctx := context.Background()
	b, rows := mkBatch(t, s, "north", "ada@example.com", "Bob@Example.com", "cy@example.com")
	if err := s.CreateStagingBatch(ctx, store.StagingBatch{ID: "b2", Name: "north", CreatedAt: t0}, nil); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("a second batch of one name: %v", err)
	}
	dup := []store.StagingRow{{ID: "d1", UPN: "x@example.com"}, {ID: "d2", UPN: "X@example.com "}}
	if err := s.CreateStagingBatch(ctx, store.StagingBatch{ID: "b3", Name: "dup", CreatedAt: t0}, dup); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("a person twice in a batch: %v", err)
	}
	if _, _, err := s.GetStagingBatch(ctx, "dup"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused batch was half kept: %v", err)
	}
	for _, ref := range []string{"north", b.ID} {
		got, rs, err := s.GetStagingBatch(ctx, ref)
		if err != nil || got.ID != b.ID || got.Pending != 3 || got.CreatedBy != "helpdesk" || !got.CreatedAt.Equal(t0) || len(rs) != 3 {
			t.Fatalf("get %s: %+v %+v %v", ref, got, rs, err)
		}
		if rs[1].UPN != "Bob@Example.com" || rs[1].State != store.StagingPending || rs[1].KeyName != "Key of Bob@Example.com" || rs[1].Position != 2 {
			t.Fatalf("row %+v", rs[1])
		}
	}
	if _, _, err := s.GetStagingBatch(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}

	at := t0.Add(time.Minute)
	reg := rows[0]
	reg.BatchID, reg.State, reg.MethodID, reg.AAGUID, reg.Model, reg.CredentialID, reg.RegisteredAt, reg.UpdatedAt =
		b.ID, store.StagingRegistered, "m-1", "aa-1", "Key 5", "Y3JlZA", &at, at
	if err := s.MarkStagingRow(ctx, reg); err != nil {
		t.Fatal(err)
	}
	again := reg
	again.MethodID = "m-2"
	if err := s.MarkStagingRow(ctx, again); !errors.Is(err, store.ErrRegistered) {
		t.Fatalf("registered twice: %v", err)
	}
	back := reg
	back.State = store.StagingFailed
	if err := s.MarkStagingRow(ctx, back); !errors.Is(err, store.ErrRegistered) {
		t.Fatalf("a registered row changed state: %v", err)
	}
	later := reg
	later.SerialNumber, later.PINChangeForced = "SN-1", true
	if err := s.MarkStagingRow(ctx, later); err != nil {
		t.Fatalf("the serial after the registration: %v", err)
	}
	got, err := s.GetStagingRow(ctx, b.ID, reg.ID)
	if err != nil || got.State != store.StagingRegistered || got.MethodID != "m-1" || got.SerialNumber != "SN-1" || !got.PINChangeForced ||
		got.RegisteredAt == nil || !got.RegisteredAt.Equal(at) || got.CredentialID != "Y3JlZA" || got.AAGUID != "aa-1" || got.Model != "Key 5" {
		t.Fatalf("registered row %+v %v", got, err)
	}
	fail := rows[1]
	fail.BatchID, fail.State, fail.Reason, fail.UpdatedAt = b.ID, store.StagingFailed, "key pulled", at
	if err := s.MarkStagingRow(ctx, fail); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkStagingRow(ctx, store.StagingRow{ID: "none", BatchID: b.ID, State: store.StagingFailed}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown row: %v", err)
	}
	if _, err := s.GetStagingRow(ctx, "other", reg.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a row through another batch: %v", err)
	}
	bs, err := s.ListStagingBatches(ctx)
	if err != nil || len(bs) != 1 || bs[0].Pending != 1 || bs[0].Registered != 1 || bs[0].Failed != 1 {
		t.Fatalf("list %+v %v", bs, err)
	}

	// The person's active rows, across batches: a failed one is not.
	mkBatch(t, s, "south", "ADA@example.com", "bob@example.com")
	act, err := s.ActiveStagingRows(ctx, "Ada@Example.com")
	if err != nil || len(act) != 2 {
		t.Fatalf("active rows of ada %+v %v", act, err)
	}
	if act, _ := s.ActiveStagingRows(ctx, "bob@example.com"); len(act) != 1 || act[0].BatchID != "b-south" {
		t.Fatalf("active rows of bob %+v", act)
	}

	// A registration kept in a transaction that fails leaves the row pending.
	boom := errors.New("boom")
	row := rows[2]
	row.BatchID, row.State, row.MethodID, row.UpdatedAt = b.ID, store.StagingRegistered, "m-3", at
	err = s.Atomically(ctx, func(tx store.Store) error {
		if err := tx.MarkStagingRow(ctx, row); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if got, _ := s.GetStagingRow(ctx, b.ID, row.ID); got.State != store.StagingPending {
		t.Fatalf("rolled back row %+v", got)
	}
}

func testStagingRace(t *testing.T, s store.Store) {
	ctx := context.Background()
	b, rows := mkBatch(t, s, "race", "ada@example.com")
	wins := race(t, 8, func(i int) error {
		r := rows[0]
		r.BatchID, r.State, r.MethodID, r.UpdatedAt = b.ID, store.StagingRegistered, fmt.Sprint("m-", i), t0
		return s.Atomically(ctx, func(tx store.Store) error { return tx.MarkStagingRow(ctx, r) })
	}, store.ErrRegistered)
	if wins != 1 {
		t.Fatalf("one row was registered %d times", wins)
	}
}

func testStagingLease(t *testing.T, s store.Store) {
	ctx := context.Background()
	b, rows := mkBatch(t, s, "lease", "ada@example.com", "bob@example.com")
	row := rows[0].ID
	end := t0.Add(5 * time.Minute)
	a1 := store.StagingLease{CeremonyID: "chal-a1", OperatorID: "op-a", Until: end}
	got, err := s.LeaseStagingRow(ctx, b.ID, row, a1, t0)
	if err != nil || got.Lease != a1 {
		t.Fatalf("lease %+v %v", got.Lease, err)
	}
	if r, _ := s.GetStagingRow(ctx, b.ID, row); r.Lease != a1 {
		t.Fatalf("lease as read %+v", r.Lease)
	}
	// Another operator waits for the lease to end; the row says until when.
	other := store.StagingLease{CeremonyID: "chal-b", OperatorID: "op-b", Until: t0.Add(6 * time.Minute)}
	got, err = s.LeaseStagingRow(ctx, b.ID, row, other, t0.Add(time.Minute))
	if !errors.Is(err, store.ErrLeased) || got.Lease != a1 {
		t.Fatalf("another operator's lease: %+v %v", got.Lease, err)
	}
	// The same operator starting again takes it over at once.
	a2 := store.StagingLease{CeremonyID: "chal-a2", OperatorID: "op-a", Until: t0.Add(6 * time.Minute)}
	if got, err = s.LeaseStagingRow(ctx, b.ID, row, a2, t0.Add(time.Minute)); err != nil || got.Lease != a2 {
		t.Fatalf("takeover %+v %v", got.Lease, err)
	}
	// Only the ceremony holding the lease claims it, and only while it lasts.
	if got, err = s.ClaimStagingRow(ctx, b.ID, row, "chal-a1", t0.Add(20*time.Minute), t0.Add(time.Minute)); !errors.Is(err, store.ErrLeased) || got.Lease != a2 {
		t.Fatalf("a taken-over ceremony claims: %+v %v", got.Lease, err)
	}
	if _, err = s.ClaimStagingRow(ctx, b.ID, row, "chal-a2", t0.Add(20*time.Minute), t0.Add(6*time.Minute)); !errors.Is(err, store.ErrLeased) {
		t.Fatalf("an ended lease claimed: %v", err)
	}
	if _, err = s.ClaimStagingRow(ctx, b.ID, row, "", t0.Add(20*time.Minute), t0); !errors.Is(err, store.ErrLeased) {
		t.Fatalf("no ceremony claims a row: %v", err)
	}
	if _, err = s.ClaimStagingRow(ctx, b.ID, rows[1].ID, "chal-a2", t0.Add(20*time.Minute), t0); !errors.Is(err, store.ErrLeased) {
		t.Fatalf("a lease of one row claims another: %v", err)
	}
	writeEnd := t0.Add(12 * time.Minute)
	got, err = s.ClaimStagingRow(ctx, b.ID, row, "chal-a2", writeEnd, t0.Add(2*time.Minute))
	if err != nil || !got.Lease.Writing || !got.Lease.Until.Equal(writeEnd) || got.Lease.CeremonyID != "chal-a2" {
		t.Fatalf("claim %+v %v", got.Lease, err)
	}
	// While writing nobody takes the row, its operator neither, and it is
	// not claimed twice; a state change other than registering keeps it.
	for _, l := range []store.StagingLease{other, {CeremonyID: "chal-a3", OperatorID: "op-a", Until: writeEnd}} {
		if _, err := s.LeaseStagingRow(ctx, b.ID, row, l, t0.Add(3*time.Minute)); !errors.Is(err, store.ErrLeased) {
			t.Fatalf("a writing row leased to %+v: %v", l, err)
		}
	}
	if _, err := s.ClaimStagingRow(ctx, b.ID, row, "chal-a2", writeEnd, t0.Add(3*time.Minute)); !errors.Is(err, store.ErrLeased) {
		t.Fatalf("claimed twice: %v", err)
	}
	failed := rows[0]
	failed.BatchID, failed.State, failed.Reason, failed.UpdatedAt = b.ID, store.StagingFailed, "pulled", t0
	if err := s.MarkStagingRow(ctx, failed); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.GetStagingRow(ctx, b.ID, row); r.State != store.StagingFailed || !r.Lease.Writing || r.Lease.CeremonyID != "chal-a2" {
		t.Fatalf("a write in flight lost its lease: %+v", r)
	}
	// The write ended: after its end anyone may lease the row again.
	if got, err = s.LeaseStagingRow(ctx, b.ID, row, other, writeEnd); err != nil || got.Lease != other {
		t.Fatalf("lease after the write's end %+v %v", got.Lease, err)
	}
	// Release: only by the holder.
	if err := s.ReleaseStagingRow(ctx, b.ID, row, "chal-a2"); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.GetStagingRow(ctx, b.ID, row); r.Lease != other {
		t.Fatalf("released by a ceremony not holding it: %+v", r.Lease)
	}
	if err := s.ReleaseStagingRow(ctx, b.ID, row, "chal-b"); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.GetStagingRow(ctx, b.ID, row); r.Lease != (store.StagingLease{}) || r.Lease.Held(t0) {
		t.Fatalf("not released: %+v", r.Lease)
	}
	// A state change that is not a write in flight ends the lease.
	if _, err := s.LeaseStagingRow(ctx, b.ID, row, a1, t0); err != nil {
		t.Fatal(err)
	}
	pending := failed
	pending.State, pending.Reason = store.StagingPending, ""
	if err := s.MarkStagingRow(ctx, pending); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.GetStagingRow(ctx, b.ID, row); r.Lease != (store.StagingLease{}) {
		t.Fatalf("a row back to pending kept its lease: %+v", r.Lease)
	}
	// Registering ends a writing lease; a registered row is leased to nobody.
	if _, err := s.LeaseStagingRow(ctx, b.ID, row, a1, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimStagingRow(ctx, b.ID, row, a1.CeremonyID, writeEnd, t0); err != nil {
		t.Fatal(err)
	}
	reg := pending
	at := t0
	reg.State, reg.MethodID, reg.RegisteredAt = store.StagingRegistered, "m-1", &at
	if err := s.MarkStagingRow(ctx, reg); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.GetStagingRow(ctx, b.ID, row); r.State != store.StagingRegistered || r.Lease != (store.StagingLease{}) {
		t.Fatalf("registered row %+v", r)
	}
	if _, err := s.LeaseStagingRow(ctx, b.ID, row, other, writeEnd); !errors.Is(err, store.ErrRegistered) {
		t.Fatalf("a registered row leased: %v", err)
	}
	if _, err := s.ClaimStagingRow(ctx, b.ID, row, a1.CeremonyID, writeEnd, t0); !errors.Is(err, store.ErrRegistered) {
		t.Fatalf("a registered row claimed: %v", err)
	}
	for _, err := range []error{
		func() error { _, err := s.LeaseStagingRow(ctx, b.ID, "none", a1, t0); return err }(),
		func() error { _, err := s.ClaimStagingRow(ctx, "other", row, a1.CeremonyID, writeEnd, t0); return err }(),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("no such row: %v", err)
		}
	}
	// Inside a transaction that fails, the lease is not kept.
	_ = s.Atomically(ctx, func(tx store.Store) error {
		if _, err := tx.LeaseStagingRow(ctx, b.ID, rows[1].ID, a1, t0); err != nil {
			t.Fatal(err)
		}
		return errors.New("rolled back")
	})
	if r, _ := s.GetStagingRow(ctx, b.ID, rows[1].ID); r.Lease != (store.StagingLease{}) {
		t.Fatalf("a rolled-back lease was kept: %+v", r.Lease)
	}
}

// testStagingLeaseRace: operators racing for one free row get one lease,
// and ceremonies racing to claim a lease (after takeovers) get one claim.
func testStagingLeaseRace(t *testing.T, s store.Store) {
	ctx := context.Background()
	b, rows := mkBatch(t, s, "lease-race", "ada@example.com")
	row := rows[0].ID
	end := t0.Add(5 * time.Minute)
	if n := race(t, 8, func(i int) error {
		_, err := s.LeaseStagingRow(ctx, b.ID, row, store.StagingLease{CeremonyID: fmt.Sprint("c-", i), OperatorID: fmt.Sprint("op-", i), Until: end}, t0)
		return err
	}, store.ErrLeased); n != 1 {
		t.Fatalf("%d operators leased one row", n)
	}
	r, _ := s.GetStagingRow(ctx, b.ID, row)
	if n := race(t, 8, func(i int) error {
		_, err := s.ClaimStagingRow(ctx, b.ID, row, r.Lease.CeremonyID, end, t0)
		return err
	}, store.ErrLeased); n != 1 {
		t.Fatalf("one lease claimed %d times", n)
	}
}
