package server

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/recovery"
	"github.com/tapkiosk/tapkiosk/store"
)

// admittedObserver counts the pass checks admitted now (computing or
// waiting for a runner).
type admittedObserver struct{ inUse atomic.Int64 }

func (o *admittedObserver) Audited(store.AuditEntry)     {}
func (o *admittedObserver) Locked(string, time.Duration) {}
func (o *admittedObserver) HashSlots(inUse, _ int, refused bool) {
	if !refused {
		o.inUse.Store(int64(inUse))
	}
}

// TestQueuedRightPassesAllSignIn: with 2 hash runners the default queue
// admits 80, more than a kiosk's round of 50 guesses in flight. 60 right
// passes at once from one kiosk, the two computing held until all 60 are
// admitted or answered, all sign in: the ones waiting for a runner hold
// no reservation. When checks reserved before waiting, 10 of them got
// 429 tooManyAttempts ("other sign-ins from this kiosk are being
// checked") and an audit row of a denied sign-in.
func TestQueuedRightPassesAllSignIn(t *testing.T) {
	e := newEnv(t, "sqlite")
	release := make(chan struct{})
	var began atomic.Int64
	obs := &admittedObserver{}
	e.reconfigure(func(c *recovery.Config) {
		c.HashRunners = 2
		c.Observer = obs
		c.CheckBegan = func(context.Context) { began.Add(1); <-release }
	})
	e.enablePolicy()
	const n = 60
	passes := make([]string, n)
	upn := func(i int) string { return fmt.Sprintf("queued-%02d@example.com", i) }
	for i := range n {
		e.addUser(api.User{UserPrincipalName: upn(i)})
		passes[i] = *e.newPass(upn(i), api.CreatePassRequest{}).TemporaryAccessPass
	}
	var mu sync.Mutex
	statuses := map[string]int{}
	var answered atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.fresh(e.kiosk).OpenSession(bg, upn(i), passes[i])
			k := "201"
			if ae, ok := err.(*api.Error); ok {
				k = fmt.Sprint(ae.Status, " ", ae.Code)
			} else if err != nil {
				k = err.Error()
			}
			answered.Add(1)
			mu.Lock()
			statuses[k]++
			mu.Unlock()
		}()
	}
	deadline := time.Now().Add(time.Minute) // a liveness bound, not a timing
	for began.Load() < 2 || obs.inUse.Load()+answered.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d checks began, %d admitted, %d answered", began.Load(), obs.inUse.Load(), answered.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	wg.Wait()
	if statuses["201"] != n {
		t.Fatalf("answers %v, want %d sign-ins", statuses, n)
	}
}
