// Conformance tests of users and what the store keeps about their
// authentication methods: users, methods, FIDO2 keys, user handles and
// WebAuthn ceremonies.

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
