// Package storetest is the conformance suite of store.Store: the storage
// rules every backend must keep (one pass per user, one-time passes consumed
// once, shared failure counters, ...). It is written against the interface
// only, so a new backend is checked by the same tests as the SQL one.
//
// Tests that need a backend's own access (migrations, a full disk made with
// SQLite's max_page_count) live beside that backend, in package store's
// tests.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/store"
)

// RunTests runs every conformance test as a subtest of t. newStore is called
// once for each subtest and must return an empty store with the current
// schema, closed when that subtest ends (t.Cleanup).
func RunTests(t *testing.T, newStore func(*testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"TAPPolicy", testTAPPolicy},
		{"FIDO2Policy", testFIDO2Policy},
		{"PolicyRace", testPolicyRace},
		{"Users", testUsers},
		{"UsersAtomic", testUsersAtomic},
		{"Passes", testPasses},
		{"Sessions", testSessions},
		{"KioskSession", testKioskSession},
		{"OneTimeRace", testOneTimeRace},
		{"Kiosks", testKiosks},
		{"AdminTokens", testAdminTokens},
		{"Methods", testMethods},
		{"Throttle", testThrottle},
		{"ThrottleRace", testThrottleRace},
		{"ThrottleClearRace", testThrottleClearRace},
		{"AuditGroups", testAuditGroups},
		{"Atomically", testAtomically},
		{"Audit", testAudit},
		{"AuditExport", testAuditExport},
		{"AuditExportLateCommit", testAuditExportLateCommit},
		{"Secrets", testSecrets},
		{"FIDO2Methods", testFIDO2Methods},
		{"UserHandle", testUserHandle},
		{"Ceremonies", testCeremonies},
		{"Staging", testStaging},
		{"StagingRace", testStagingRace},
		{"StagingLease", testStagingLease},
		{"StagingLeaseRace", testStagingLeaseRace},
		{"StagingLife", testStagingLife},
		{"Outbox", testOutbox},
		{"OutboxAtomic", testOutboxAtomic},
		{"OutboxClaimRace", testOutboxClaimRace},
		{"OpenSessions", testOpenSessions},
		{"Staff", testStaff},
		{"PassApprovals", testPassApprovals},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func mkUser(t *testing.T, s store.Store, upn string) store.User {
	t.Helper()
	u := store.User{UPN: upn, DisplayName: "Test " + upn, UserType: "Member", Groups: []string{"staff"}, CreatedAt: t0}
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func mkKiosk(t *testing.T, s store.Store, name string) store.Kiosk {
	t.Helper()
	k := store.Kiosk{ID: "k-" + name, Name: name, TokenHash: "h-" + name, CreatedAt: t0}
	if err := s.CreateKiosk(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return k
}

func mkPass(t *testing.T, s store.Store, upn, id string, once bool) store.Pass {
	t.Helper()
	p := store.Pass{ID: id, UPN: upn, Hash: "$argon2id$x", CreatedAt: t0, StartAt: t0, LifetimeMinutes: 60, IsUsableOnce: once, CreatedBy: "test"}
	if _, err := s.ReplacePass(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

// race runs fn(0) ... fn(n-1) at once, as n callers (tapd instances)
// would, and returns how many succeeded. A caller may lose only with lost;
// any other error fails the test.
func race(t *testing.T, n int, fn func(i int) error, lost error) int {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(i)
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, lost):
			t.Errorf("unexpected error: %v", err)
		}
	}
	return wins
}

func testTAPPolicy(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.GetTAPPolicy(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("before the first put: want ErrNotFound, got %v", err)
	}
	first := store.TAPPolicy{
		Enabled: true,
		// Not sorted either way: the order the admin gave must come back.
		IncludeTargets:         []store.PolicyTarget{{Type: "user", ID: "zed@policy.example"}, {Type: "group", ID: "staff"}, {Type: "group", ID: "all_users"}},
		ExcludeTargets:         []store.PolicyTarget{{Type: "group", ID: "contractors"}},
		MinimumLifetimeMinutes: 10, MaximumLifetimeMinutes: 43200, DefaultLifetimeMinutes: 60,
		IsUsableOnce: true, DefaultLength: 12,
	}
	second := store.TAPPolicy{MinimumLifetimeMinutes: 60, MaximumLifetimeMinutes: 480, DefaultLifetimeMinutes: 120, DefaultLength: 8}
	wantSecond := second
	wantSecond.IncludeTargets, wantSecond.ExcludeTargets = []store.PolicyTarget{}, []store.PolicyTarget{}
	for _, c := range []struct{ put, want store.TAPPolicy }{{first, first}, {second, wantSecond}} {
		if err := s.PutTAPPolicy(ctx, c.put); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetTAPPolicy(ctx)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Fatalf("got %+v %v, want %+v", got, err, c.want)
		}
		if got.IncludeTargets == nil || got.ExcludeTargets == nil {
			t.Fatalf("empty lists must come back empty, not nil: %+v", got)
		}
	}
}

// testPolicyRace has several writers replace the TAP policy at once, as
// several instances might: what is left must be one writer's whole policy,
// never lists mixed from two.
func testPolicyRace(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 8
	put := func(i int) store.TAPPolicy {
		p := store.TAPPolicy{MinimumLifetimeMinutes: 60, MaximumLifetimeMinutes: 480, DefaultLifetimeMinutes: 60, DefaultLength: 8 + i,
			ExcludeTargets: []store.PolicyTarget{}}
		for j := 0; j <= i; j++ {
			p.IncludeTargets = append(p.IncludeTargets, store.PolicyTarget{Type: "group", ID: fmt.Sprintf("g%d-%d", i, j)})
		}
		return p
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := s.PutTAPPolicy(ctx, put(i)); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	got, err := s.GetTAPPolicy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if i := got.DefaultLength - 8; i < 0 || i >= n || !reflect.DeepEqual(got, put(i)) {
		t.Fatalf("not one writer's policy: %+v", got)
	}
}

func testFIDO2Policy(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.GetFIDO2Policy(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("before the first put: want ErrNotFound, got %v", err)
	}
	first := store.FIDO2Policy{IsAttestationEnforced: true, KeyRestrictionsEnforced: true, KeyEnforcementType: "allow",
		AAGUIDs: []string{"cb69481e-8ff7-4039-93ec-0a2729a154a8", "2fc0579f-8113-47ea-b116-bb5a8db9202a", "ee882879-721c-4913-9775-3dfcce97072a"}}
	second := store.FIDO2Policy{KeyEnforcementType: "block"}
	wantSecond := second
	wantSecond.AAGUIDs = []string{}
	for _, c := range []struct{ put, want store.FIDO2Policy }{{first, first}, {second, wantSecond}} {
		if err := s.PutFIDO2Policy(ctx, c.put); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetFIDO2Policy(ctx)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Fatalf("got %+v %v, want %+v", got, err, c.want)
		}
		if got.AAGUIDs == nil {
			t.Fatal("an empty list must come back empty, not nil")
		}
	}
}

func testUsers(t *testing.T, s store.Store) {
	ctx := context.Background()
	mkUser(t, s, "Ada@Users.example")
	if err := s.CreateUser(ctx, store.User{UPN: "ada@users.example", DisplayName: "x", UserType: "Member", CreatedAt: t0}); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("case-insensitive duplicate: want ErrAlreadyExists, got %v", err)
	}
	u, err := s.GetUser(ctx, "ADA@users.example")
	if err != nil || u.UPN != "Ada@Users.example" || len(u.Groups) != 1 || !u.CreatedAt.Equal(t0) {
		t.Fatalf("got %+v %v", u, err)
	}
	if _, err := s.GetUser(ctx, "nobody@users.example"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	mkPass(t, s, "ada@users.example", "p-users-1", false)
	k := mkKiosk(t, s, "users-kiosk")
	if err := s.OpenSession(ctx, store.Session{ID: "s-users", TokenHash: "th-users", KioskID: k.ID, UPN: u.UPN, PassID: "p-users-1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}, false, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "ada@users.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSession(ctx, "th-users"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("deleting a user must end their sessions")
	}
	if err := s.DeleteUser(ctx, "ada@users.example"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func testUsersAtomic(t *testing.T, s store.Store) {
	ctx := context.Background()
	mkUser(t, s, "taken@atomic.example")
	batch := []store.User{
		{UPN: "one@atomic.example", DisplayName: "One", UserType: "Member", CreatedAt: t0},
		{UPN: "taken@atomic.example", DisplayName: "Dup", UserType: "Member", CreatedAt: t0},
	}
	if err := s.CreateUsers(ctx, batch); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("want ErrAlreadyExists, got %v", err)
	}
	if _, err := s.GetUser(ctx, "one@atomic.example"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a failed batch left a user behind")
	}
}

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

func testMethods(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "mo@methods.example")
	ms, err := s.ListMethods(ctx, u.UPN)
	if err != nil || len(ms) != 0 {
		t.Fatalf("got %v %v", ms, err)
	}
	if err := s.CreateMethod(ctx, store.Method{ID: "m1", UPN: u.UPN, Kind: "fido2", DisplayName: "Old key", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	ms, _ = s.ListMethods(ctx, "MO@methods.example")
	if len(ms) != 1 || ms[0].DisplayName != "Old key" {
		t.Fatalf("got %+v", ms)
	}
}

func testThrottle(t *testing.T, s store.Store) {
	ctx := context.Background()
	key := "user:thr@throttle.example"
	th, err := s.GetThrottle(ctx, key)
	if err != nil || th.Checked != 0 || th.Failures != 0 || th.Level != 0 || !th.LockedUntil.Before(t0) {
		t.Fatalf("fresh: %+v %v", th, err)
	}
	want := store.Throttle{Key: key, Checked: 3, Failures: 2, Level: 1, LastFailure: t0.Add(time.Second),
		ReservedAt: t0.Add(2 * time.Second), LockedUntil: t0.Add(3 * time.Hour), Holds: "h1:1 h2:2", LockCause: "kiosk lobby from 192.0.2.7"}
	got, err := s.UpdateThrottle(ctx, key, func(th *store.Throttle) {
		if th.Checked != 0 || th.Key != key {
			t.Errorf("a new key's throttle must start empty: %+v", th)
		}
		*th = want
	})
	if err != nil || got != want {
		t.Fatalf("stored %+v, %v; want %+v", got, err, want)
	}
	if th, _ = s.GetThrottle(ctx, key); th != want {
		t.Fatalf("read back %+v, want %+v", th, want)
	}
	if _, err := s.UpdateThrottle(ctx, key, func(th *store.Throttle) { th.Checked++ }); err != nil {
		t.Fatal(err)
	}
	if th, _ = s.GetThrottle(ctx, key); th.Checked != 4 || th.Failures != 2 {
		t.Fatalf("the change must see the stored throttle: %+v", th)
	}
	for _, k := range []string{key + "|kiosk:a", key + "|kiosk:b", "user:thr_throttle.example|kiosk:a"} {
		if _, err := s.UpdateThrottle(ctx, k, func(th *store.Throttle) { th.Failures = 1 }); err != nil {
			t.Fatal(err)
		}
	}
	ths, err := s.ListThrottles(ctx, key)
	if err != nil || len(ths) != 3 || ths[0].Key != key || ths[0].Checked != 4 || ths[2].Key != key+"|kiosk:b" || ths[2].Failures != 1 {
		t.Fatalf("listed %+v, %v", ths, err)
	}
	if err := s.ClearThrottle(ctx, key); err != nil {
		t.Fatal(err)
	}
	if th, _ = s.GetThrottle(ctx, key); th.Checked != 0 || th.Level != 0 {
		t.Fatal("not cleared")
	}
}

// testThrottleRace checks that concurrent changes each see the one before,
// as they must from several tapd instances: no increment is lost, and a
// cap checked inside the change is never overrun.
func testThrottleRace(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n, limit = 40, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok := false
			_, err := s.UpdateThrottle(ctx, "kiosk:race", func(th *store.Throttle) {
				th.Failures++
				ok = th.Checked < limit
				if ok {
					th.Checked++
				}
			})
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	th, _ := s.GetThrottle(ctx, "kiosk:race")
	if th.Failures != n || th.Checked != limit || granted != limit {
		t.Fatalf("lost updates: %d of %d changes counted, %d granted of a cap of %d (stored %d)", th.Failures, n, granted, limit, th.Checked)
	}
}

// testThrottleClearRace: a change racing a clear of the same key (a
// right pass on another kiosk) never fails; it sees a row, fresh or not.
func testThrottleClearRace(t *testing.T, s store.Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var err error
			if i%2 == 0 {
				err = s.ClearThrottle(ctx, "user:clear@race.example")
			} else {
				_, err = s.UpdateThrottle(ctx, "user:clear@race.example", func(th *store.Throttle) { th.Checked++ })
			}
			if err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
}

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

func testFIDO2Methods(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mkUser(t, s, "fa@fido2.example")
	b := mkUser(t, s, "fb@fido2.example")
	used := t0.Add(time.Hour)
	m := store.Method{ID: "fm1", UPN: a.UPN, Kind: "fido2", DisplayName: "YubiKey 5 2026-11-23", CreatedAt: t0,
		CredentialID: []byte{1, 2, 3, 250}, PublicKey: []byte{0xa5, 1, 2}, AAGUID: "2fc0579f-8113-47ea-b116-bb5a8db9202a",
		Model: "YubiKey 5", AttestationFormat: "packed", AttestationLevel: "attested", SignCount: 7, UserVerified: true,
		BackupEligible: false, SessionID: "sess-1", RPID: "login.microsoft.com", UserHandle: []byte{9, 8, 7}}
	if err := s.CreateMethod(ctx, m); err != nil {
		t.Fatal(err)
	}
	dup := m
	dup.ID, dup.UPN = "fm2", b.UPN
	if err := s.CreateMethod(ctx, dup); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("a credential registered to another user: %v", err)
	}
	got, err := s.GetMethod(ctx, "FA@fido2.example", "fm1")
	if err != nil || string(got.CredentialID) != string(m.CredentialID) || got.SignCount != 7 || !got.UserVerified ||
		got.AAGUID != m.AAGUID || got.SessionID != "sess-1" || got.RPID != m.RPID || string(got.UserHandle) != string(m.UserHandle) || got.LastUsedAt != nil || string(got.PublicKey) != string(m.PublicKey) {
		t.Fatalf("got %+v %v", got, err)
	}
	if _, err := s.GetMethod(ctx, b.UPN, "fm1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a method is visible under another user")
	}
	if err := s.RecordMethodUse(ctx, "fm1", 9, true, used); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetMethod(ctx, a.UPN, "fm1")
	if got.SignCount != 9 || !got.BackupState || got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) {
		t.Fatalf("after use %+v", got)
	}
	if err := s.DeleteMethod(ctx, b.UPN, "fm1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("deleted another user's method")
	}
	if err := s.DeleteMethod(ctx, a.UPN, "fm1"); err != nil {
		t.Fatal(err)
	}
	if ms, _ := s.ListMethods(ctx, a.UPN); len(ms) != 0 {
		t.Fatal("method not deleted")
	}
	// Methods without a credential (other kinds) do not collide.
	for _, id := range []string{"o1", "o2"} {
		if err := s.CreateMethod(ctx, store.Method{ID: id, UPN: a.UPN, Kind: "phone", DisplayName: id, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
}

func testUserHandle(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "uh@handle.example")
	var wg sync.WaitGroup
	got := make([][]byte, 16)
	for i := range got {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			h, err := s.UserHandle(ctx, u.UPN, []byte(fmt.Sprintf("candidate-%02d", i)))
			if err != nil {
				t.Error(err)
			}
			got[i] = h
		}(i)
	}
	wg.Wait()
	for _, h := range got {
		if string(h) != string(got[0]) || len(h) == 0 {
			t.Fatalf("handles differ: %q vs %q", h, got[0])
		}
	}
	if h, _ := s.UserHandle(ctx, "UH@handle.example", []byte("later")); string(h) != string(got[0]) {
		t.Fatal("handle changed")
	}
	if _, err := s.UserHandle(ctx, "nobody@handle.example", []byte("x")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
}

func testCeremonies(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := store.Ceremony{ID: "chal-1", SessionID: "s1", Kind: "registration", Data: []byte(`{"x":1}`), ExpiresAt: t0.Add(5 * time.Minute)}
	op := store.Ceremony{ID: "chal-op", OperatorID: "tok-1", UPN: "ada@example.com", Kind: "registration", Data: []byte(`{}`), ExpiresAt: t0.Add(5 * time.Minute)}
	if err := s.CreateCeremony(ctx, op); err != nil {
		t.Fatal(err)
	}
	if got, err := s.TakeCeremony(ctx, "chal-op"); err != nil || got.OperatorID != "tok-1" || got.UPN != "ada@example.com" || got.SessionID != "" {
		t.Fatalf("operator ceremony %+v %v", got, err)
	}
	if err := s.CreateCeremony(ctx, c); err != nil {
		t.Fatal(err)
	}
	wins := race(t, 16, func(int) error {
		got, err := s.TakeCeremony(ctx, "chal-1")
		if err == nil && (string(got.Data) != `{"x":1}` || got.Kind != "registration" || !got.ExpiresAt.Equal(c.ExpiresAt)) {
			t.Errorf("got %+v", got)
		}
		return err
	}, store.ErrNotFound)
	if wins != 1 {
		t.Fatalf("a ceremony was taken %d times", wins)
	}
	s.CreateCeremony(ctx, store.Ceremony{ID: "chal-old", SessionID: "s1", Kind: "assertion", MethodID: "m", Data: []byte("{}"), ExpiresAt: t0})
	if n, err := s.DeleteExpiredCeremonies(ctx, t0.Add(time.Second)); err != nil || n < 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if _, err := s.TakeCeremony(ctx, "chal-old"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("expired ceremony survived the sweep")
	}
}

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
