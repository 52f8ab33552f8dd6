// Conformance tests of the shared failure counters (throttling), alone
// and under concurrent failures and clears.

package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/store"
)

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
	// The prefix is matched by characters, not bytes: one beyond ASCII
	// must still find the keys that start with it.
	wide := "user:zoë@throttle.example"
	if _, err := s.UpdateThrottle(ctx, wide+"|kiosk:a", func(th *store.Throttle) { th.Failures = 1 }); err != nil {
		t.Fatal(err)
	}
	if ths, err := s.ListThrottles(ctx, wide); err != nil || len(ths) != 1 || ths[0].Key != wide+"|kiosk:a" {
		t.Fatalf("listed %+v, %v under %q", ths, err, wide)
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
