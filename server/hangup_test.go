package server

import (
	"encoding/json"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/recovery"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// hangUp sends a sign-in over a raw TCP connection to tapd and closes the
// connection after the delay, without reading the answer: a client that
// gives up mid-check.
func hangUp(t *testing.T, addr, token, upn, pass string, after time.Duration) {
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
	time.Sleep(after)
	conn.Close()
}

// TestHangUpMidCheck: clients that hang up at several points of the pass
// check leave no reservation held and no guess unaudited. Each wrong guess
// that was checked is counted and has its audit row (reason clientGone
// when the client was gone by the verdict); afterwards the person's right
// pass at another kiosk opens a session.
func TestHangUpMidCheck(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		// Four times the real hash cost, so that the hang-ups land inside
		// the check even on a busy machine.
		slow := tap.DefaultArgon2
		slow.Time *= 4
		e.reconfigure(func(c *recovery.Config) { c.Argon2 = slow })
		e.enablePolicy()
		const upn = "hangup@example.com"
		e.addUser(api.User{UserPrincipalName: upn})
		p := e.newPass(upn, api.CreatePassRequest{})
		addr := e.http.Listener.Addr().String()
		// Below the threshold, so the account is not locked at the end.
		delays := []time.Duration{0, 5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond,
			80 * time.Millisecond, 160 * time.Millisecond, 320 * time.Millisecond, 640 * time.Millisecond}
		kioskTok := e.kiosk.Token
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
			t.Fatalf("no hang-up landed inside a check (reasons %v); the test proves nothing", reasons)
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
