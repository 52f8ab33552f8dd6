package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/recovery"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// sendSignIn sends a sign-in over a raw TCP connection to tapd and leaves
// the answer unread; closing the connection is a client that gives up.
func sendSignIn(t *testing.T, addr, token, upn, pass string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(api.SessionRequest{UserPrincipalName: upn, TemporaryAccessPass: pass})
	if _, err := fmt.Fprintf(conn, "POST /v1/sessions HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		addr, token, len(body), body); err != nil {
		t.Fatal(err)
	}
	return conn
}

// hangUp sends a sign-in and closes the connection after the delay,
// without reading the answer.
func hangUp(t *testing.T, addr, token, upn, pass string, after time.Duration) {
	t.Helper()
	conn := sendSignIn(t, addr, token, upn, pass)
	time.Sleep(after)
	conn.Close()
}

// holdCheck makes the next pass check that begins wait, inside the check
// (reservations held), until its client is gone; began hears when it
// starts waiting. Only one check is held per arm().
type holdCheck struct {
	armed atomic.Bool
	began chan struct{}
	stop  chan struct{}
}

func newHoldCheck(t *testing.T) *holdCheck {
	h := &holdCheck{began: make(chan struct{}, 1), stop: make(chan struct{})}
	t.Cleanup(func() { close(h.stop) })
	return h
}

func (h *holdCheck) arm() { h.armed.Store(true) }

// checkBegan is recovery.Config.CheckBegan.
func (h *holdCheck) checkBegan(ctx context.Context) {
	if !h.armed.CompareAndSwap(true, false) {
		return
	}
	h.began <- struct{}{}
	select {
	case <-ctx.Done():
	case <-h.stop:
	}
}

// TestHangUpMidCheck: clients that hang up at several points of the pass
// check leave no reservation held and no guess unaudited. Each wrong guess
// that was checked is counted and has its audit row (reason clientGone
// when the client was gone by the verdict); afterwards the person's right
// pass at another kiosk opens a session. One hang-up lands inside a check
// by construction (the check waits for it), whatever the machine's speed;
// the others, after fixed delays, land wherever the machine's speed puts
// them (before the check, inside it or after the verdict).
func TestHangUpMidCheck(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		// Four times the real hash cost, so that more of the fixed-delay
		// hang-ups land inside a check.
		slow := tap.DefaultArgon2
		slow.Time *= 4
		hold := newHoldCheck(t)
		e.reconfigure(func(c *recovery.Config) { c.Argon2, c.CheckBegan = slow, hold.checkBegan })
		e.enablePolicy()
		const upn = "hangup@example.com"
		e.addUser(api.User{UserPrincipalName: upn})
		p := e.newPass(upn, api.CreatePassRequest{})
		addr := e.http.Listener.Addr().String()
		kioskTok := e.kiosk.Token

		// The held guess: hang up only once its check has begun.
		hold.arm()
		conn := sendSignIn(t, addr, kioskTok, upn, "WrongGuessHeld")
		select {
		case <-hold.began:
		case <-time.After(time.Minute):
			t.Fatal("the held sign-in's pass check never began")
		}
		conn.Close()

		// Nine guesses in all, below the threshold, so the account is not
		// locked at the end.
		delays := []time.Duration{0, 10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond,
			80 * time.Millisecond, 160 * time.Millisecond, 320 * time.Millisecond, 640 * time.Millisecond}
		for i, d := range delays {
			hangUp(t, addr, kioskTok, upn, fmt.Sprintf("WrongGuess%02d", i), d)
		}
		// Every check that started settles: no reservation stays held on
		// any key, and every counted failure has its audit row.
		kid := e.kioskID(e.kiosk)
		keys := []string{"user:" + upn + "|kiosk:" + kid, "user:" + upn, "kiosk:" + kid, "addr:127.0.0.1"}
		var reasons map[string]int
		deadline := time.Now().Add(30 * time.Second)
		for {
			settled := true
			th, _ := e.st.GetThrottle(bg, keys[0])
			for _, key := range keys {
				if th, _ := e.st.GetThrottle(bg, key); th.Checked != th.Failures {
					settled = false
				}
			}
			es, err := e.admin.Audit(bg, api.AuditQuery{User: upn, Action: api.ActionSessionDenied, Top: 1000})
			if err != nil {
				t.Fatal(err)
			}
			reasons = map[string]int{}
			for _, a := range es {
				reasons[a.ResultReason]++
			}
			if settled && len(es) == th.Failures && th.Failures > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("not settled after 30 s: throttle %+v, audit reasons %v", th, reasons)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if reasons["clientGone"] == 0 {
			t.Fatalf("the guess whose client hung up inside its check is not audited as clientGone (reasons %v)", reasons)
		}
		for r := range reasons {
			if r != "clientGone" && r != "wrongPass" {
				t.Fatalf("unexpected reason %q in %v", r, reasons)
			}
		}
		if _, err := e.fresh(e.kiosk2).OpenSession(bg, upn, *p.TemporaryAccessPass); err != nil {
			t.Fatalf("the right pass after the hang-ups: %v", err)
		}
	})
}

// TestAbandonedHoldsExpireEachOnTheirOwn: reservations left by a tapd that
// died mid-check run out a minute after each was taken, even while other
// guesses keep arriving at the same account (before, they ran out only
// after a minute with no reservation at all, so steady traffic kept them).
func TestAbandonedHoldsExpireEachOnTheirOwn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.enablePolicy()
		const upn = "abandoned@example.com"
		e.addUser(api.User{UserPrincipalName: upn})
		p := e.newPass(upn, api.CreatePassRequest{})
		lo := recovery.DefaultLockout
		// What a killed tapd leaves: all but one guess of the round held.
		exp := e.clock.Now().Add(time.Minute).UnixMilli()
		holds := ""
		for i := 0; i < lo.UserThreshold-1; i++ {
			holds += fmt.Sprintf("dead%d:%d ", i, exp)
		}
		if _, err := e.st.UpdateThrottle(bg, "user:"+upn+"|kiosk:"+e.kioskID(e.kiosk), func(th *store.Throttle) {
			th.Checked, th.ReservedAt, th.Holds = lo.UserThreshold-1, e.clock.Now(), holds
		}); err != nil {
			t.Fatal(err)
		}
		// Steady traffic: a wrong guess every 30 s takes the last guess.
		e.clock.Advance(30 * time.Second)
		_, err := e.fresh(e.kiosk).OpenSession(bg, upn, "WrongGuess")
		code(t, err, 401, api.CodeInvalidCredentials)
		_, err = e.fresh(e.kiosk).OpenSession(bg, upn, "WrongGuess")
		code(t, err, 429, api.CodeTooManyAttempts)
		// A minute after the dead holds were taken, 30 s after the last
		// guess, they are gone and the right pass gets through, at the
		// kiosk whose key they held (another kiosk's key never held them).
		e.clock.Advance(31 * time.Second)
		if _, err := e.fresh(e.kiosk).OpenSession(bg, upn, *p.TemporaryAccessPass); err != nil {
			t.Fatalf("the right pass after the abandoned holds ran out: %v", err)
		}
	})
}

// kioskID is the id of the client's kiosk.
func (e *env) kioskID(c *api.Client) string {
	e.t.Helper()
	k, err := e.st.GetKioskByTokenHash(bg, recovery.HashToken(c.Token))
	if err != nil {
		e.t.Fatal(err)
	}
	return k.ID
}
