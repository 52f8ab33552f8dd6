// Conformance tests of passes, sessions, kiosks and admin tokens: one
// pass per user, one-time passes consumed once, and sessions bound to
// their kiosk.

package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/store"
)

func testPasses(t *testing.T, s store.Store) {
	ctx := context.Background()
	mkUser(t, s, "pat@passes.example")
	if _, err := s.GetPass(ctx, "pat@passes.example"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	if _, err := s.ReplacePass(ctx, store.Pass{ID: "p-x", UPN: "ghost@passes.example", Hash: "h", CreatedAt: t0, StartAt: t0, LifetimeMinutes: 60}); err == nil {
		t.Fatal("a pass for an unknown user was stored")
	}
	mkPass(t, s, "pat@passes.example", "p-passes-1", true)
	k := mkKiosk(t, s, "passes-kiosk")
	if err := s.OpenSession(ctx, store.Session{ID: "s-passes", TokenHash: "th-passes", KioskID: k.ID, UPN: "pat@passes.example", PassID: "p-passes-1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}, true, t0); err != nil {
		t.Fatal(err)
	}
	replaced, err := s.ReplacePass(ctx, store.Pass{ID: "p-passes-2", UPN: "PAT@passes.example", Hash: "h2", CreatedAt: t0, StartAt: t0, LifetimeMinutes: 90, CreatedBy: "t"})
	if err != nil || replaced != "p-passes-1" {
		t.Fatalf("replace: %q %v", replaced, err)
	}
	if _, err := s.GetSession(ctx, "th-passes"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("replacing a pass must end the old pass's sessions")
	}
	p, err := s.GetPass(ctx, "pat@passes.example")
	if err != nil || p.ID != "p-passes-2" || p.LifetimeMinutes != 90 || p.UsedAt != nil || p.UPN != "pat@passes.example" {
		t.Fatalf("got %+v %v", p, err)
	}
	if err := s.DeletePass(ctx, "pat@passes.example", "p-passes-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting the replaced pass: %v", err)
	}
	if err := s.DeletePass(ctx, "pat@passes.example", "p-passes-2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetPass(ctx, "pat@passes.example"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("pass still there")
	}
}

func testSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "sam@sessions.example")
	k := mkKiosk(t, s, "sessions-kiosk")
	mkPass(t, s, u.UPN, "p-sess", false)
	for i := 0; i < 2; i++ { // a multi-use pass opens several sessions
		sess := store.Session{ID: fmt.Sprintf("s-sess-%d", i), TokenHash: fmt.Sprintf("th-sess-%d", i), KioskID: k.ID, UPN: u.UPN, PassID: "p-sess", CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
		if err := s.OpenSession(ctx, sess, false, t0); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetSession(ctx, "th-sess-0")
	if err != nil || got.KioskID != k.ID || got.UPN != u.UPN || !got.ExpiresAt.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("got %+v %v", got, err)
	}
	p, _ := s.GetPass(ctx, u.UPN)
	if p.UsedAt == nil || !p.UsedAt.Equal(t0) {
		t.Fatalf("first use not recorded: %+v", p)
	}
	if err := s.DeleteSession(ctx, "s-sess-0"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSession(ctx, "th-sess-0"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("session survived delete")
	}
	// An expired session is kept a while, so it can be told from an
	// unknown one, and then swept.
	if n, err := s.DeleteExpiredSessions(ctx, t0.Add(11*time.Minute)); err != nil || n != 0 {
		t.Fatalf("expired cleanup within ExpiredSessionKept: %d %v", n, err)
	}
	if _, err := s.GetSession(ctx, "th-sess-1"); err != nil {
		t.Fatalf("an expired session was swept too soon: %v", err)
	}
	n, err := s.DeleteExpiredSessions(ctx, t0.Add(10*time.Minute+store.ExpiredSessionKept))
	if err != nil || n < 1 {
		t.Fatalf("expired cleanup: %d %v", n, err)
	}
	if _, err := s.GetSession(ctx, "th-sess-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("session survived the sweep")
	}
	if err := s.OpenSession(ctx, store.Session{ID: "s-sess-2", TokenHash: "th-sess-2", KioskID: k.ID, UPN: u.UPN, PassID: "p-sess", CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}, false, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.OpenSession(ctx, store.Session{ID: "s-sess-x", TokenHash: "th-sess-x", KioskID: k.ID, UPN: u.UPN, PassID: "no-such-pass", CreatedAt: t0, ExpiresAt: t0}, false, t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session on a missing pass: %v", err)
	}
	if err := s.DeletePass(ctx, u.UPN, "p-sess"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSession(ctx, "th-sess-2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("deleting the pass must end its sessions")
	}
}

// testKioskSession reads a kiosk, its session, the person and whether
// they have a method in one call, and tells apart an unknown kiosk, an
// unknown session and a session that has ended.
func testKioskSession(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "kai@kiosksession.example")
	k := mkKiosk(t, s, "kiosksession-kiosk")
	mkPass(t, s, u.UPN, "p-ks", false)
	if _, err := s.GetKioskSession(ctx, "h-no-such-kiosk", "th-ks"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown kiosk: %v", err)
	}
	got, err := s.GetKioskSession(ctx, k.TokenHash, "th-ks")
	if err != nil || got.Kiosk.ID != k.ID || got.Kiosk.Name != k.Name || got.Kiosk.RevokedAt != nil || got.Session != nil || got.HasMethods {
		t.Fatalf("unknown session: %+v %v", got, err)
	}
	sess := store.Session{ID: "s-ks", TokenHash: "th-ks", KioskID: k.ID, UPN: u.UPN, PassID: "p-ks", CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
	if err := s.OpenSession(ctx, sess, false, t0); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetKioskSession(ctx, k.TokenHash, "th-ks")
	if err != nil || got.Session == nil || *got.Session != sess || got.User.UPN != u.UPN || got.User.DisplayName != u.DisplayName ||
		got.User.UserType != "Member" || !slices.Equal(got.User.Groups, u.Groups) || !got.User.CreatedAt.Equal(t0) || got.HasMethods {
		t.Fatalf("open session, no methods: %+v %v", got, err)
	}
	if err := s.CreateMethod(ctx, store.Method{ID: "m-ks", UPN: u.UPN, Kind: "fido2", DisplayName: "Key", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if got, err = s.GetKioskSession(ctx, k.TokenHash, "th-ks"); err != nil || !got.HasMethods {
		t.Fatalf("with a method: %+v %v", got, err)
	}
	// Another kiosk's token finds its own kiosk and the session, whose
	// KioskID tells the caller it is not theirs.
	k2 := mkKiosk(t, s, "kiosksession-other")
	if got, err = s.GetKioskSession(ctx, k2.TokenHash, "th-ks"); err != nil || got.Kiosk.ID != k2.ID || got.Session == nil || got.Session.KioskID != k.ID {
		t.Fatalf("other kiosk: %+v %v", got, err)
	}
	if err := s.RevokeKiosk(ctx, k.Name, t0); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetKioskSession(ctx, k.TokenHash, "th-ks")
	if err != nil || got.Kiosk.RevokedAt == nil || got.Session != nil {
		t.Fatalf("revoked kiosk: %+v %v", got, err)
	}
}

// testOneTimeRace has many goroutines race to consume one one-time pass:
// exactly one may win.
func testOneTimeRace(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "rae@race.example")
	k := mkKiosk(t, s, "race-kiosk")
	mkPass(t, s, u.UPN, "p-race", true)
	wins := race(t, 16, func(i int) error {
		return s.OpenSession(ctx, store.Session{ID: fmt.Sprintf("s-race-%d", i), TokenHash: fmt.Sprintf("th-race-%d", i), KioskID: k.ID, UPN: u.UPN, PassID: "p-race", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}, true, t0)
	}, store.ErrPassUsed)
	if wins != 1 {
		t.Fatalf("%d sessions opened with one one-time pass", wins)
	}
}

func testKiosks(t *testing.T, s store.Store) {
	ctx := context.Background()
	k := mkKiosk(t, s, "lobby-1")
	if err := s.CreateKiosk(ctx, store.Kiosk{ID: "other", Name: "lobby-1", TokenHash: "zz", CreatedAt: t0}); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("duplicate name: %v", err)
	}
	got, err := s.GetKioskByTokenHash(ctx, k.TokenHash)
	if err != nil || got.Name != "lobby-1" || got.RevokedAt != nil {
		t.Fatalf("got %+v %v", got, err)
	}
	u := mkUser(t, s, "kim@kiosks.example")
	mkPass(t, s, u.UPN, "p-kiosks", false)
	if err := s.OpenSession(ctx, store.Session{ID: "s-kiosks", TokenHash: "th-kiosks", KioskID: k.ID, UPN: u.UPN, PassID: "p-kiosks", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}, false, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeKiosk(ctx, "lobby-1", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSession(ctx, "th-kiosks"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("revoking a kiosk must end its sessions")
	}
	got, _ = s.GetKioskByTokenHash(ctx, k.TokenHash)
	if got.RevokedAt == nil {
		t.Fatal("not revoked")
	}
	if err := s.RevokeKiosk(ctx, "lobby-1", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second revoke: %v", err)
	}
	ks, err := s.ListKiosks(ctx)
	if err != nil || len(ks) == 0 {
		t.Fatalf("list: %v", err)
	}
}

func testAdminTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	before, _ := s.CountAdminTokens(ctx)
	exp := t0.Add(time.Hour)
	tok := store.AdminToken{ID: "a1", Name: "helpdesk", Role: "reader", TokenHash: "ah1", CreatedAt: t0, ExpiresAt: &exp}
	if err := s.CreateAdminToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAdminToken(ctx, store.AdminToken{ID: "a2", Name: "helpdesk", Role: "reader", TokenHash: "ah2", CreatedAt: t0}); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("duplicate: %v", err)
	}
	got, err := s.GetAdminTokenByHash(ctx, "ah1")
	if err != nil || got.Role != "reader" || got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) {
		t.Fatalf("got %+v %v", got, err)
	}
	if n, _ := s.CountAdminTokens(ctx); n != before+1 {
		t.Fatalf("count %d", n)
	}
	if err := s.RevokeAdminToken(ctx, "helpdesk", t0); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetAdminTokenByHash(ctx, "ah1")
	if got.RevokedAt == nil {
		t.Fatal("not revoked")
	}
	if err := s.RevokeAdminToken(ctx, "nobody", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
}
