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
