package server

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/recovery"
	"github.com/tapkiosk/tapkiosk/tap"
)

// checked counts the guesses tapd actually hashed and judged wrong for a
// target: each is one sessionDenied row with a wrong-pass reason.
func (e *env) checked(upn string) int {
	e.t.Helper()
	es, err := e.admin.Audit(bg, api.AuditQuery{User: upn, Action: api.ActionSessionDenied, Top: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, a := range es {
		switch a.ResultReason {
		case "wrongPass", "unknownUser", "noPass":
			n++
		}
	}
	return n
}

// burst sends n wrong guesses at once for upnOf(i), spread over kiosks,
// and returns the statuses seen.
func (e *env) burst(n int, kiosks []*api.Client, upnOf func(int) string) map[int]int {
	e.t.Helper()
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			_, err := e.fresh(kiosks[i%len(kiosks)]).OpenSession(bg, upnOf(i), fmt.Sprintf("WrongGuess%04d", i))
			st := 0
			if ae, ok := err.(*api.Error); ok {
				st = ae.Status
			}
			mu.Lock()
			statuses[st]++
			mu.Unlock()
		}(i)
	}
	close(start)
	wg.Wait()
	for st := range statuses {
		if st != 401 && st != 429 && st != 503 {
			e.t.Fatalf("a guess got %d: %v", st, statuses)
		}
	}
	return statuses
}

// TestLockoutRace: concurrent guesses at one account from one kiosk (many
// connections), at the production hash cost so that they truly overlap,
// check at most the threshold, and the lock grows once per round, not
// once per concurrent failure.
func TestLockoutRace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.reconfigure(func(c *recovery.Config) { c.Argon2 = tap.DefaultArgon2 })
		e.enablePolicy()
		const upn = "target@example.com"
		e.addUser(api.User{UserPrincipalName: upn})
		kiosks := []*api.Client{e.kiosk}
		one := func(int) string { return upn }
		for e.checked(upn) < recovery.DefaultLockout.UserThreshold {
			e.burst(64, kiosks, one)
		}
		if n := e.checked(upn); n != recovery.DefaultLockout.UserThreshold {
			t.Fatalf("%d guesses checked; the threshold is %d", n, recovery.DefaultLockout.UserThreshold)
		}
		th, _ := e.st.GetThrottle(bg, "user:"+upn+"|kiosk:"+e.kioskID(e.kiosk))
		if th.Level != 1 || !th.LockedUntil.Equal(e.clock.Now().Add(time.Minute)) {
			t.Fatalf("one round must give one 1-minute lock: level %d until %v (now %v)", th.Level, th.LockedUntil, e.clock.Now())
		}
		// While locked, nothing is checked at all.
		st := e.burst(64, kiosks, one)
		if st[429] != 64 || e.checked(upn) != recovery.DefaultLockout.UserThreshold {
			t.Fatalf("guesses while locked: %v, checked %d", st, e.checked(upn))
		}
		// Right after the lock ends, a burst gets one guess, and the lock
		// doubles once.
		e.clock.Advance(time.Minute + time.Second)
		for e.checked(upn) < recovery.DefaultLockout.UserThreshold+1 {
			e.burst(64, kiosks, one)
		}
		if n := e.checked(upn); n != recovery.DefaultLockout.UserThreshold+1 {
			t.Fatalf("after the lock: %d checked in all, want one more than the threshold", n)
		}
		th, _ = e.st.GetThrottle(bg, "user:"+upn+"|kiosk:"+e.kioskID(e.kiosk))
		if th.Level != 2 || !th.LockedUntil.Equal(e.clock.Now().Add(2*time.Minute)) {
			t.Fatalf("second lock: level %d until %v", th.Level, th.LockedUntil)
		}
	})
}

// TestKioskBurst: a fresh kiosk's burst of guesses at many accounts checks
// at most the kiosk's threshold.
func TestKioskBurst(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.reconfigure(func(c *recovery.Config) { c.Argon2 = tap.DefaultArgon2 })
		e.enablePolicy()
		k := e.newKiosk("burst")
		upnOf := func(i int) string { return fmt.Sprintf("victim%03d@example.com", i) }
		lo := recovery.DefaultLockout
		var checked int
		for round := 0; checked < lo.KioskThreshold && round < 20; round++ {
			e.burst(200, []*api.Client{k}, upnOf)
			checked = 0
			for i := 0; i < 200; i++ {
				checked += e.checked(upnOf(i))
			}
		}
		if checked != lo.KioskThreshold {
			t.Fatalf("%d guesses checked from one kiosk; its threshold is %d", checked, lo.KioskThreshold)
		}
		_, err := e.fresh(k).OpenSession(bg, "someone@example.com", "AnotherGuess")
		if ae := code(t, err, 429, api.CodeTooManyAttempts); !strings.Contains(ae.Message, "at this kiosk") {
			t.Fatalf("message %q", ae.Message)
		}
		// Another kiosk is not held back by this one.
		_, err = e.fresh(e.kiosk).OpenSession(bg, "someone@example.com", "AnotherGuess")
		code(t, err, 401, api.CodeInvalidCredentials)
	})
}

// TestAddressLimit: behind a trusted proxy, guesses from one client
// address across many kiosks are limited; an untrusted peer's
// X-Forwarded-For is ignored.
func TestAddressLimit(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.reconfigure(func(c *recovery.Config) { c.Lockout = recovery.DefaultLockout; c.Lockout.AddressThreshold = 3 })
	e.enablePolicy()
	guess := func(k *api.Client, xff string) (int, *api.Error) {
		status, ae, _ := e.raw("POST", "/v1/sessions", k.Token, "application/json",
			[]byte(`{"userPrincipalName":"`+fmt.Sprint(time.Now().UnixNano())+`@example.com","temporaryAccessPass":"WrongGuess"}`), "X-Forwarded-For", xff)
		return status, ae
	}
	// Untrusted: the header is the client's own claim, so every guess
	// counts against the one real peer (127.0.0.1).
	for i := 0; i < 2; i++ {
		if st, _ := guess(e.newKiosk(fmt.Sprint("u", i)), fmt.Sprintf("198.51.100.%d", i)); st != 401 {
			t.Fatalf("guess %d: %d", i, st)
		}
	}
	if st, ae := guess(e.newKiosk("u2"), "198.51.100.2"); st != 429 || !strings.Contains(ae.Message, "from this address") {
		t.Fatalf("the third guess locks the address: %d %v", st, ae)
	}
	if st, ae := guess(e.newKiosk("u3"), "198.51.100.99"); st != 429 || !strings.Contains(ae.Message, "from this address") {
		t.Fatalf("a spoofed X-Forwarded-For escaped the limit: %d %v", st, ae)
	}
	// Trusted: each client behind the proxy has its own count.
	e.srv.cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	e.st.ClearThrottle(bg, "addr:127.0.0.1")
	for i := 0; i < 2; i++ {
		if st, _ := guess(e.newKiosk(fmt.Sprint("t", i)), "10.1.1.1, 203.0.113.7"); st != 401 {
			t.Fatalf("trusted guess %d: %d", i, st)
		}
	}
	if st, _ := guess(e.newKiosk("t2"), "203.0.113.7"); st != 429 {
		t.Fatalf("the third guess from 203.0.113.7: %d", st)
	}
	if st, _ := guess(e.newKiosk("t3"), "203.0.113.7"); st != 429 {
		t.Fatalf("the 4th guess from 203.0.113.7: %d", st)
	}
	if st, _ := guess(e.newKiosk("t4"), "203.0.113.8"); st != 401 {
		t.Fatalf("another client behind the proxy: %d", st)
	}
}

// lockOut locks upn's pass sign-in with wrong guesses from one kiosk.
func (e *env) lockOut(upn string) {
	e.t.Helper()
	k := e.fresh(e.kiosk)
	for i := 0; i < recovery.DefaultLockout.UserThreshold; i++ {
		k.OpenSession(bg, upn, "WrongGuess")
	}
	_, err := k.OpenSession(bg, upn, "WrongGuess")
	if ae, ok := err.(*api.Error); !ok || ae.Status != 429 {
		e.t.Fatalf("not locked: %v", err)
	}
}

func TestUnlockAndNewPass(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.enablePolicy()
		e.addUser(api.User{UserPrincipalName: "ada@example.com"})
		e.addUser(api.User{UserPrincipalName: "boss@example.com", AdminRole: api.RoleGlobalAdministrator})
		p := e.newPass("ada@example.com", api.CreatePassRequest{})
		e.lockOut("ada@example.com")

		// Folded: the locked-out answers are one audit row with a count.
		for i := 0; i < 5; i++ {
			e.fresh(e.kiosk).OpenSession(bg, "ada@example.com", *p.TemporaryAccessPass)
		}
		es, _ := e.admin.Audit(bg, api.AuditQuery{User: "ada@example.com", Action: api.ActionSessionDenied})
		var locked []api.AuditEntry
		for _, a := range es {
			if a.ResultReason == "lockedOut" {
				locked = append(locked, a)
			}
		}
		if len(locked) != 1 || locked[0].Repeats != 5 {
			t.Fatalf("locked-out answers: %d rows, %+v", len(locked), locked)
		}

		// A reader may not unlock; nor may an authentication administrator
		// unlock an admin.
		reader := e.tokenClient("reader", api.RoleReader)
		_, err := reader.Unlock(bg, "ada@example.com", false)
		code(t, err, 403, api.CodeForbidden)
		_, err = e.tokenClient("helpdesk", api.RoleAuthenticationAdministrator).Unlock(bg, "boss@example.com", false)
		code(t, err, 403, api.CodeForbidden)
		_, err = e.admin.Unlock(bg, "nobody@example.com", false)
		code(t, err, 404, api.CodeUserNotFound)

		l, err := e.admin.Unlock(bg, "ada@example.com", false)
		if err != nil || !l.WasLocked || l.LockedUntil == nil || !l.LockedUntil.Equal(e.clock.Now().Add(time.Minute)) {
			t.Fatalf("unlock: %+v %v", l, err)
		}
		if _, err := e.fresh(e.kiosk).OpenSession(bg, "ada@example.com", *p.TemporaryAccessPass); err != nil {
			t.Fatalf("the right pass after unlock: %v", err)
		}
		if es, _ := e.admin.Audit(bg, api.AuditQuery{User: "ada@example.com", Action: api.ActionUnlockUser}); len(es) != 1 || es[0].Details["wasLocked"] != "true" {
			t.Fatalf("unlock not audited: %+v", es)
		}
		l, err = e.admin.Unlock(bg, "ada@example.com", false)
		if err != nil || l.WasLocked {
			t.Fatalf("a second unlock: %+v %v", l, err)
		}

		// A new pass from IT clears a lock too.
		e.lockOut("ada@example.com")
		np := e.newPass("ada@example.com", api.CreatePassRequest{})
		if _, err := e.fresh(e.kiosk).OpenSession(bg, "ada@example.com", *np.TemporaryAccessPass); err != nil {
			t.Fatalf("a new pass after a lock: %v", err)
		}
		es, _ = e.admin.Audit(bg, api.AuditQuery{User: "ada@example.com", Action: api.ActionCreatePass})
		if len(es) == 0 || es[0].Details["clearedLockUntil"] == "" {
			t.Fatalf("the cleared lock is not in the pass's audit: %+v", es)
		}
	})
}

// TestHashBound: past the hash budget a sign-in is refused at once with
// 503 and Retry-After, and what is refused so is not counted as a guess.
func TestHashBound(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.reconfigure(func(c *recovery.Config) {
		c.Argon2 = tap.DefaultArgon2
		c.HashQueue = 1 // one check at a time
	})
	e.enablePolicy()
	kiosks := []*api.Client{e.kiosk, e.kiosk2, e.newKiosk("k3"), e.newKiosk("k4")}
	upnOf := func(i int) string { return fmt.Sprintf("busy%d@example.com", i) }
	st := e.burst(8, kiosks, upnOf)
	if st[503] == 0 || st[401] == 0 {
		t.Fatalf("one slot, 8 at once: %v", st)
	}
	checked := 0
	for i := 0; i < 8; i++ {
		checked += e.checked(upnOf(i))
	}
	if checked != st[401] {
		t.Fatalf("%d checked but %d answered 401: a refused guess was counted", checked, st[401])
	}
	// The 503 carries Retry-After.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var hdrs []http.Header
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			status, _, h := e.raw("POST", "/v1/sessions", kiosks[i%4].Token, "application/json", []byte(`{"userPrincipalName":"x@example.com","temporaryAccessPass":"WrongGuess"}`))
			if status == 503 {
				mu.Lock()
				hdrs = append(hdrs, h)
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	if len(hdrs) == 0 || hdrs[0].Get("Retry-After") != "2" {
		t.Fatalf("503 without Retry-After: %d answers", len(hdrs))
	}
}
