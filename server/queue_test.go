package server

import (
	"fmt"
	"sync"
	"testing"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/recovery"
	"github.com/tapkiosk/tapkiosk/tap"
)

// TestQueuedRightPassesAllSignIn: with 2 hash runners the default queue
// admits 80, more than a kiosk's round of 50 guesses in flight. 60 right
// passes at once from one kiosk, each check at the design's cost, all sign
// in: the ones waiting for a turn at the hash gate hold no reservation.
// When checks reserved before waiting, the reservations (a write each)
// outran the checks (25 ms each, two at a time) and 10 sign-ins got 429
// tooManyAttempts ("other sign-ins from this kiosk are being checked")
// and an audit row of a denied sign-in.
func TestQueuedRightPassesAllSignIn(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.reconfigure(func(c *recovery.Config) {
		c.HashRunners = 2
		c.Argon2 = tap.DefaultArgon2
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
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := e.fresh(e.kiosk)
			<-start
			_, err := k.OpenSession(bg, upn(i), passes[i])
			s := "201"
			if ae, ok := err.(*api.Error); ok {
				s = fmt.Sprint(ae.Status, " ", ae.Code)
			} else if err != nil {
				s = err.Error()
			}
			mu.Lock()
			statuses[s]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	if statuses["201"] != n {
		t.Fatalf("answers %v, want %d sign-ins", statuses, n)
	}
}
