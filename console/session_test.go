package console_test

import (
	"context"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/recovery"
	"github.com/tapkiosk/tapkiosk/store"
)

// TestStaffSessionLimits: a session kept busy still ends after 8 hours;
// an idle one after 15 minutes; an unknown token is no session. (The
// browser walk shows the idle end on the page.)
func TestStaffSessionLimits(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.invite("Ana Help", api.RoleReader)
	all, err := w.svc.ListStaff(ctx, w.root)
	if err != nil || len(all) != 1 {
		t.Fatalf("staff %v %v", all, err)
	}
	open := func(tok string) {
		now := w.clock.Now()
		if err := w.st.CreateStaffSession(ctx, store.StaffSession{ID: tok, TokenHash: recovery.HashToken(tok), StaffID: all[0].ID, PasskeyID: "pk",
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(recovery.StaffSessionMax)}); err != nil {
			t.Fatal(err)
		}
	}
	code := func(tok string) api.Code {
		_, err := w.svc.StaffBySession(ctx, tok)
		if err == nil {
			return ""
		}
		return err.(*api.Error).Code
	}
	open("busy")
	for range 8 * 6 { // every 10 minutes for 8 hours
		if c := code("busy"); c != "" {
			t.Fatalf("a busy session ended early at %s: %s", w.clock.Now(), c)
		}
		w.clock.Advance(10 * time.Minute)
	}
	if c := code("busy"); c != api.CodeSessionExpired {
		t.Fatalf("a busy session past 8 hours: %q", c)
	}
	if c := code("busy"); c != api.CodeInvalidSession {
		t.Fatalf("an ended session is not forgotten: %q", c)
	}
	open("idle")
	w.clock.Advance(recovery.StaffSessionIdle)
	if c := code("idle"); c != api.CodeSessionExpired {
		t.Fatalf("a session idle for 15 minutes: %q", c)
	}
	if c := code("never-issued"); c != api.CodeInvalidSession {
		t.Fatalf("an unknown token: %q", c)
	}
}

// TestStaffInvitationExpires: an invitation enrols nobody after its 15
// minutes.
func TestStaffInvitationExpires(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	tok, exp, err := w.svc.InviteStaff(ctx, w.root, "Ana Help", api.RoleReader)
	if err != nil || !exp.Equal(w.clock.Now().Add(recovery.StaffInviteLife)) {
		t.Fatalf("invite: %v %v", exp, err)
	}
	if _, err := w.svc.BeginStaffEnrolment(ctx, tok); err != nil {
		t.Fatalf("a fresh invitation: %v", err)
	}
	w.clock.Advance(recovery.StaffInviteLife)
	if _, err := w.svc.StaffInvitation(ctx, tok); err == nil || err.(*api.Error).Code != api.CodeInvalidToken {
		t.Fatalf("an invitation after 15 minutes: %v", err)
	}
	if _, err := w.svc.BeginStaffEnrolment(ctx, tok); err == nil {
		t.Fatal("an expired invitation began an enrolment")
	}
}
