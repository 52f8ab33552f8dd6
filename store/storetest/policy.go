// Conformance tests of the stored TAP and FIDO2 policies, and of
// concurrent policy updates.

package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/tapkiosk/tapkiosk/store"
)

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
