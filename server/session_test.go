package server

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/recovery"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

func TestSignInRules(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.enablePolicy()
		e.addUser(api.User{UserPrincipalName: "sue@example.com", DisplayName: "Sue Storm"})
		p := e.newPass("sue@example.com", api.CreatePassRequest{LifetimeInMinutes: ptr(60)})
		k := e.fresh(e.kiosk)

		// Wrong pass and unknown user: one answer.
		_, err1 := k.OpenSession(bg, "sue@example.com", "WrongPass")
		_, err2 := k.OpenSession(bg, "nobody@example.com", *p.TemporaryAccessPass)
		a1, a2 := code(t, err1, 401, api.CodeInvalidCredentials), code(t, err2, 401, api.CodeInvalidCredentials)
		if a1.Message != a2.Message {
			t.Fatal("wrong pass and unknown user must look the same")
		}
		// Malformed.
		_, err := k.OpenSession(bg, "sue @example.com", "x")
		code(t, err, 400, api.CodeInvalidValue)
		_, err = k.OpenSession(bg, "sue@example.com", "")
		code(t, err, 400, api.CodeInvalidValue)

		s, err := k.OpenSession(bg, "SUE@example.com", *p.TemporaryAccessPass)
		if err != nil {
			t.Fatal(err)
		}
		// Session life = min(pass end, 10-minute limit).
		if !s.ExpiresDateTime.Equal(e.clock.Now().Add(10*time.Minute)) || s.DisplayName != "Sue Storm" || s.HasOtherMethods || !strings.HasPrefix(s.SessionToken, api.SessionTokenPrefix) {
			t.Fatalf("session: %+v", s)
		}
		got, err := k.GetSession(bg)
		if err != nil || got.UserPrincipalName != "sue@example.com" || got.SessionToken != "" {
			t.Fatalf("get: %+v %v", got, err)
		}
		// Near the pass's end, the session ends with the pass.
		e.clock.Advance(55 * time.Minute)
		s2, err := e.fresh(e.kiosk).OpenSession(bg, "sue@example.com", *p.TemporaryAccessPass)
		if err != nil || !s2.ExpiresDateTime.Equal(p.StartDateTime.Add(60*time.Minute)) {
			t.Fatalf("session must end with the pass: %+v %v", s2, err)
		}
		// The first session has outlived its 10 minutes.
		_, err = k.GetSession(bg)
		code(t, err, 401, api.CodeSessionExpired)
		e.clock.Advance(5 * time.Minute)
		_, err = e.fresh(e.kiosk).OpenSession(bg, "sue@example.com", *p.TemporaryAccessPass)
		code(t, err, 403, api.CodePassExpired)

		// Not yet valid, with its start.
		start := e.clock.Now().Add(2 * time.Hour).Truncate(time.Second)
		p = e.newPass("sue@example.com", api.CreatePassRequest{StartDateTime: &start})
		_, err = e.fresh(e.kiosk).OpenSession(bg, "sue@example.com", *p.TemporaryAccessPass)
		if ae := code(t, err, 403, api.CodePassNotYetValid); ae.StartDateTime == nil || !ae.StartDateTime.Equal(start) {
			t.Fatalf("start not given: %+v", ae)
		}
		e.clock.Advance(2 * time.Hour)
		if _, err := e.fresh(e.kiosk).OpenSession(bg, "sue@example.com", *p.TemporaryAccessPass); err != nil {
			t.Fatalf("pass should be valid from its start: %v", err)
		}

		// One-time: used once, then refused.
		p = e.newPass("sue@example.com", api.CreatePassRequest{IsUsableOnce: ptr(true)})
		if _, err := e.fresh(e.kiosk).OpenSession(bg, "sue@example.com", *p.TemporaryAccessPass); err != nil {
			t.Fatal(err)
		}
		_, err = e.fresh(e.kiosk2).OpenSession(bg, "sue@example.com", *p.TemporaryAccessPass)
		code(t, err, 403, api.CodePassAlreadyUsed)
		if l, _ := e.admin.ListPasses(bg, "sue@example.com"); l[0].MethodUsabilityReason != tap.OneTimeUsed {
			t.Fatalf("reason: %+v", l)
		}

		// Not in policy, then policy disabled.
		p = e.newPass("sue@example.com", api.CreatePassRequest{})
		if _, err := e.admin.UpdatePolicy(bg, tap.PolicyPatch{ExcludeTargets: &[]tap.Target{{TargetType: "user", ID: "sue@example.com"}}}); err != nil {
			t.Fatal(err)
		}
		_, err = e.fresh(e.kiosk).OpenSession(bg, "sue@example.com", *p.TemporaryAccessPass)
		code(t, err, 403, api.CodeNotInPolicy)
		if _, err := e.admin.UpdatePolicy(bg, tap.PolicyPatch{State: ptr("disabled"), ExcludeTargets: &[]tap.Target{}}); err != nil {
			t.Fatal(err)
		}
		_, err = e.fresh(e.kiosk).OpenSession(bg, "sue@example.com", *p.TemporaryAccessPass)
		code(t, err, 403, api.CodePolicyDisabled)

		// Audit reasons.
		es, _ := e.admin.Audit(bg, api.AuditQuery{User: "sue@example.com", Action: api.ActionSessionDenied})
		reasons := map[string]bool{}
		for _, a := range es {
			reasons[a.ResultReason] = true
			if a.Actor.Type != "kiosk" || a.RequestID == "" {
				t.Fatalf("audit entry lacks actor or request id: %+v", a)
			}
		}
		for _, r := range []string{"wrongPass", "expired", "notYetValid", "alreadyUsed", "notInPolicy", "policyDisabled"} {
			if !reasons[r] {
				t.Errorf("no audit entry with reason %s (have %v)", r, reasons)
			}
		}
		if es, _ := e.admin.Audit(bg, api.AuditQuery{User: "nobody@example.com"}); len(es) != 1 || es[0].ResultReason != "unknownUser" ||
			!strings.HasPrefix(es[0].Target, recovery.UnknownPrefix) {
			t.Errorf("unknown user audit: %+v", es)
		}
	})
}

func TestOneTimeRaceAcrossKiosks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.enablePolicy()
		e.addUser(api.User{UserPrincipalName: "race@example.com"})
		// The production hash cost makes every request spend ~25 ms between
		// reading the pass and consuming it, as in real life, so the
		// requests truly overlap.
		e.reconfigure(func(c *recovery.Config) { c.Argon2 = tap.DefaultArgon2 })
		p := e.newPass("race@example.com", api.CreatePassRequest{IsUsableOnce: ptr(true)})
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				k := e.kiosk
				if i%2 == 1 {
					k = e.kiosk2
				}
				_, errs[i] = e.fresh(k).OpenSession(bg, "race@example.com", *p.TemporaryAccessPass)
			}(i)
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
			} else {
				code(t, err, 403, api.CodePassAlreadyUsed)
			}
		}
		if wins != 1 {
			t.Fatalf("%d sessions from one one-time pass", wins)
		}
	})
}

func TestLockout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.enablePolicy()
		e.addUser(api.User{UserPrincipalName: "lou@example.com"})
		p := e.newPass("lou@example.com", api.CreatePassRequest{})
		k := e.fresh(e.kiosk)
		for i := 1; i <= 9; i++ {
			_, err := k.OpenSession(bg, "lou@example.com", "Wrong")
			code(t, err, 401, api.CodeInvalidCredentials)
		}
		_, err := k.OpenSession(bg, "lou@example.com", "Wrong")
		if ae := code(t, err, 429, api.CodeTooManyAttempts); ae.RetryAfterSeconds != 60 {
			t.Fatalf("10th failure: lock 60 s, got %d", ae.RetryAfterSeconds)
		}
		// Even the right pass is refused while locked, at that kiosk
		// (TestStrangerCannotLockOthersOut: not at the others).
		_, err = e.fresh(e.kiosk).OpenSession(bg, "lou@example.com", *p.TemporaryAccessPass)
		if ae := code(t, err, 429, api.CodeTooManyAttempts); ae.RetryAfterSeconds != 60 {
			t.Fatalf("retry-after %d", ae.RetryAfterSeconds)
		}
		status, _, hdr := e.raw("POST", "/v1/sessions", e.kiosk.Token, "application/json", []byte(`{"userPrincipalName":"lou@example.com","temporaryAccessPass":"x"}`))
		if status != 429 || hdr.Get("Retry-After") != "60" {
			t.Fatalf("Retry-After header: %d %q", status, hdr.Get("Retry-After"))
		}
		// After the minute, another failure doubles the lock.
		e.clock.Advance(61 * time.Second)
		_, err = k.OpenSession(bg, "lou@example.com", "Wrong")
		if ae := code(t, err, 429, api.CodeTooManyAttempts); ae.RetryAfterSeconds != 120 {
			t.Fatalf("11th failure: lock 120 s, got %d", ae.RetryAfterSeconds)
		}
		e.clock.Advance(121 * time.Second)
		if _, err := k.OpenSession(bg, "lou@example.com", *p.TemporaryAccessPass); err != nil {
			t.Fatalf("right pass after lock: %v", err)
		}
		// Success clears the counter.
		_, err = e.fresh(e.kiosk).OpenSession(bg, "lou@example.com", "Wrong")
		code(t, err, 401, api.CodeInvalidCredentials)
		es, _ := e.admin.Audit(bg, api.AuditQuery{User: "lou@example.com", Action: api.ActionSessionDenied})
		found := false
		for _, a := range es {
			found = found || a.ResultReason == "lockedOut"
		}
		if !found {
			t.Fatal("lockout not audited")
		}
	})
}

func TestKioskThrottle(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.reconfigure(func(c *recovery.Config) { c.Lockout = recovery.DefaultLockout; c.Lockout.KioskThreshold = 5 })
	e.enablePolicy()
	k := e.fresh(e.kiosk)
	for i := 0; i < 4; i++ {
		_, err := k.OpenSession(bg, fmt.Sprintf("u%d@example.com", i), "Wrong")
		code(t, err, 401, api.CodeInvalidCredentials)
	}
	_, err := k.OpenSession(bg, "u5@example.com", "Wrong")
	if ae := code(t, err, 429, api.CodeTooManyAttempts); !strings.Contains(ae.Message, "at this kiosk") {
		t.Fatal(ae.Message)
	}
	// Another kiosk is not affected.
	_, err = e.fresh(e.kiosk2).OpenSession(bg, "u6@example.com", "Wrong")
	code(t, err, 401, api.CodeInvalidCredentials)
}

func TestSessionCalls(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.enablePolicy()
		e.addUser(api.User{UserPrincipalName: "sid@example.com"})
		if err := e.st.CreateMethod(bg, store.Method{ID: "m1", UPN: "sid@example.com", Kind: "fido2", DisplayName: "Old key", CreatedAt: e.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		p := e.newPass("sid@example.com", api.CreatePassRequest{})
		k := e.fresh(e.kiosk)
		s, err := k.OpenSession(bg, "sid@example.com", *p.TemporaryAccessPass)
		if err != nil || !s.HasOtherMethods {
			t.Fatalf("%+v %v", s, err)
		}
		// The session belongs to its kiosk.
		thief := e.fresh(e.kiosk2)
		thief.SessionToken = k.SessionToken
		_, err = thief.GetSession(bg)
		code(t, err, 401, api.CodeInvalidSession)
		// The session token alone is not enough, nor is a kiosk token alone.
		st, _, _ := e.raw("GET", "/v1/session", "", "", nil, api.SessionHeader, k.SessionToken)
		if st != 401 {
			t.Fatalf("session without kiosk token: %d", st)
		}
		_, err = e.fresh(e.kiosk).GetSession(bg)
		code(t, err, 401, api.CodeInvalidSession)
		// Sign out.
		if err := k.SignOut(bg); err != nil {
			t.Fatal(err)
		}
		k.SessionToken = "taps_gone"
		_, err = k.GetSession(bg)
		code(t, err, 401, api.CodeInvalidSession)
		// Deleting the pass ends the session and the pass.
		k = e.fresh(e.kiosk)
		if _, err := k.OpenSession(bg, "sid@example.com", *p.TemporaryAccessPass); err != nil {
			t.Fatal(err)
		}
		other := e.fresh(e.kiosk2)
		if _, err := other.OpenSession(bg, "sid@example.com", *p.TemporaryAccessPass); err != nil {
			t.Fatal(err)
		}
		tok := k.SessionToken
		if err := k.DeleteSessionPass(bg); err != nil {
			t.Fatal(err)
		}
		k.SessionToken = tok
		_, err = k.GetSession(bg)
		code(t, err, 401, api.CodeInvalidSession)
		_, err = other.GetSession(bg)
		code(t, err, 401, api.CodeInvalidSession)
		if l, _ := e.admin.ListPasses(bg, "sid@example.com"); len(l) != 0 {
			t.Fatal("pass survived")
		}
		_, err = e.fresh(e.kiosk).OpenSession(bg, "sid@example.com", *p.TemporaryAccessPass)
		code(t, err, 401, api.CodeInvalidCredentials)
		// An admin deleting the pass ends sessions too.
		p = e.newPass("sid@example.com", api.CreatePassRequest{})
		k = e.fresh(e.kiosk)
		k.OpenSession(bg, "sid@example.com", *p.TemporaryAccessPass)
		e.admin.DeletePass(bg, "sid@example.com", p.ID)
		_, err = k.GetSession(bg)
		code(t, err, 401, api.CodeInvalidSession)
		// Revoking the kiosk ends its sessions and its token.
		p = e.newPass("sid@example.com", api.CreatePassRequest{})
		k = e.fresh(e.kiosk)
		k.OpenSession(bg, "sid@example.com", *p.TemporaryAccessPass)
		ks, _ := e.admin.ListKiosks(bg)
		for _, kk := range ks {
			if strings.HasPrefix(kk.Name, "lobby-") {
				if err := e.admin.RevokeKiosk(bg, kk.Name); err != nil {
					t.Fatal(err)
				}
			}
		}
		_, err = k.GetSession(bg)
		code(t, err, 401, api.CodeTokenRevoked)
	})
}

// TestExpiredSession: an expired session answers sessionExpired, also
// after tapd's once-a-minute sweep has run, until the sweep removes it
// ExpiredSessionKept after its end; from then on it is an unknown token,
// invalidSession.
func TestExpiredSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		k, _ := e.signedIn("exp@example.com")
		sweep := func() {
			t.Helper()
			if _, err := e.st.DeleteExpiredSessions(bg, e.clock.Now()); err != nil {
				t.Fatal(err)
			}
		}
		e.clock.Advance(10*time.Minute + time.Second)
		sweep()
		_, err := k.GetSession(bg)
		if ae := code(t, err, 401, api.CodeSessionExpired); ae.Message != "The session has expired; sign in again." {
			t.Fatal(ae.Message)
		}
		e.clock.Advance(store.ExpiredSessionKept - 2*time.Second)
		sweep()
		code(t, k.SignOut(bg), 401, api.CodeSessionExpired)
		e.clock.Advance(2 * time.Second)
		sweep()
		_, err = k.GetSession(bg)
		code(t, err, 401, api.CodeInvalidSession)
	})
}
