package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/store"
)

// testStaff: a staff member comes with one invitation, used once and not
// after it expires; passkeys are found by credential id, revoking one
// ends the sessions signed in with it.
func testStaff(t *testing.T, s store.Store) {
	ctx := context.Background()
	st := store.Staff{ID: "st1", Name: "Ana Help", Role: "authenticationAdministrator", UserHandle: []byte{1, 2, 3}, CreatedAt: t0, CreatedBy: "root"}
	inv := store.StaffInvite{TokenHash: "h1", StaffID: "st1", CreatedAt: t0, ExpiresAt: t0.Add(15 * time.Minute)}
	if err := s.CreateStaff(ctx, st, inv); err != nil {
		t.Fatal(err)
	}
	dup := st
	dup.ID, dup.Name = "st2", "ana help"
	if err := s.CreateStaff(ctx, dup, store.StaffInvite{TokenHash: "h2", ExpiresAt: t0}); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("same name again: %v", err)
	}
	if _, err := s.GetStaffInvite(ctx, "h2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the refused staff member's invitation was kept: %v", err)
	}
	got, err := s.GetStaff(ctx, "st1")
	if err != nil || got.Name != st.Name || got.Role != st.Role || string(got.UserHandle) != string(st.UserHandle) || !got.CreatedAt.Equal(t0) {
		t.Fatalf("GetStaff = %+v, %v", got, err)
	}
	if all, err := s.ListStaff(ctx); err != nil || len(all) != 1 {
		t.Fatalf("ListStaff = %v, %v", all, err)
	}
	if _, err := s.UseStaffInvite(ctx, "h1", t0.Add(15*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired invitation used: %v", err)
	}
	used, err := s.UseStaffInvite(ctx, "h1", t0.Add(time.Minute))
	if err != nil || used.StaffID != "st1" || used.UsedAt == nil {
		t.Fatalf("UseStaffInvite = %+v, %v", used, err)
	}
	if _, err := s.UseStaffInvite(ctx, "h1", t0.Add(2*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("invitation used twice: %v", err)
	}

	pk := store.StaffPasskey{ID: "pk1", StaffID: "st1", CredentialID: []byte("cred-1"), PublicKey: []byte{9, 9}, AAGUID: "00000000-0000-0000-0000-000000000000",
		SignCount: 1, BackupEligible: true, Name: "first", CreatedAt: t0}
	if err := s.AddStaffPasskey(ctx, pk); err != nil {
		t.Fatal(err)
	}
	pk2 := pk
	pk2.ID = "pk2"
	if err := s.AddStaffPasskey(ctx, pk2); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("a credential twice: %v", err)
	}
	pk2.CredentialID = []byte("cred-2")
	if err := s.AddStaffPasskey(ctx, pk2); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordStaffPasskeyUse(ctx, "pk1", 7, true, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	byCred, err := s.GetStaffPasskeyByCredential(ctx, []byte("cred-1"))
	if err != nil || byCred.ID != "pk1" || byCred.SignCount != 7 || !byCred.BackupState || !byCred.BackupEligible || byCred.LastUsedAt == nil {
		t.Fatalf("GetStaffPasskeyByCredential = %+v, %v", byCred, err)
	}

	for _, ss := range []store.StaffSession{
		{ID: "s1", TokenHash: "t1", StaffID: "st1", PasskeyID: "pk1", CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(8 * time.Hour)},
		{ID: "s2", TokenHash: "t2", StaffID: "st1", PasskeyID: "pk2", CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(8 * time.Hour)},
	} {
		if err := s.CreateStaffSession(ctx, ss); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.TouchStaffSession(ctx, "s2", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if ss, err := s.GetStaffSession(ctx, "t2"); err != nil || !ss.LastSeenAt.Equal(t0.Add(time.Minute)) || ss.PasskeyID != "pk2" {
		t.Fatalf("GetStaffSession = %+v, %v", ss, err)
	}
	if err := s.RevokeStaffPasskey(ctx, "pk1", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeStaffPasskey(ctx, "pk1", t0.Add(3*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoked twice: %v", err)
	}
	if _, err := s.GetStaffSession(ctx, "t1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the revoked passkey's session lives on: %v", err)
	}
	if keys, err := s.ListStaffPasskeys(ctx, "st1"); err != nil || len(keys) != 2 || keys[0].RevokedAt == nil || keys[1].RevokedAt != nil {
		t.Fatalf("ListStaffPasskeys = %+v, %v", keys, err)
	}
	// s2 was last seen at t0+1m: idle since before t0+2m, it goes.
	if n, err := s.DeleteExpiredStaffSessions(ctx, t0.Add(time.Hour), t0.Add(2*time.Minute)); err != nil || n != 1 {
		t.Fatalf("DeleteExpiredStaffSessions = %d, %v", n, err)
	}
	if err := s.DeleteStaffSession(ctx, "s2"); err != nil {
		t.Fatal(err)
	}
}

// testPassApprovals: an approval is approved once, used once after it is
// approved, and neither once it has expired.
func testPassApprovals(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := store.PassApproval{ID: "a1", UPN: "Boss@Example.com", RequestedBy: "st1", RequestedAt: t0, Checklist: []string{"photo ID seen"},
		LifetimeMinutes: 60, IsUsableOnce: true, ExpiresAt: t0.Add(time.Hour)}
	if err := s.CreatePassApproval(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.UsePassApproval(ctx, "a1", t0.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("used before approval: %v", err)
	}
	if err := s.ApprovePassApproval(ctx, "a1", "st2", t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("approved after it expired: %v", err)
	}
	if err := s.ApprovePassApproval(ctx, "a1", "st2", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.ApprovePassApproval(ctx, "a1", "st3", t0.Add(2*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("approved twice: %v", err)
	}
	got, err := s.GetPassApproval(ctx, "a1")
	if err != nil || got.UPN != a.UPN || got.ApprovedBy != "st2" || got.ApprovedAt == nil || len(got.Checklist) != 1 || !got.IsUsableOnce || got.LifetimeMinutes != 60 {
		t.Fatalf("GetPassApproval = %+v, %v", got, err)
	}
	if l, err := s.ListPassApprovals(ctx, t0.Add(time.Minute)); err != nil || len(l) != 1 {
		t.Fatalf("ListPassApprovals = %+v, %v", l, err)
	}
	if err := s.UsePassApproval(ctx, "a1", t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.UsePassApproval(ctx, "a1", t0.Add(4*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("used twice: %v", err)
	}
	if l, err := s.ListPassApprovals(ctx, t0.Add(time.Minute)); err != nil || len(l) != 0 {
		t.Fatalf("a used approval is still listed: %+v, %v", l, err)
	}
}
