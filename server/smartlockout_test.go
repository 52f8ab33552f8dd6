package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/recovery"
)

// TestStrangerCannotLockOthersOut: wrong guesses at one kiosk lock the
// account at that kiosk only; the person signs in at another. The admin's
// unlock names the kiosk and address that caused the lock and can revoke
// that kiosk in the same step, so it cannot lock the person again. Only
// the account-wide bound, reached from many kiosks, locks the account
// everywhere. A name locked before its user exists does not lock the user.
func TestStrangerCannotLockOthersOut(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.reconfigure(func(c *recovery.Config) { c.Lockout = recovery.DefaultLockout; c.Lockout.AccountThreshold = 30 })
		e.enablePolicy()
		const upn = "ada@example.com"
		e.addUser(api.User{UserPrincipalName: upn})
		p := e.newPass(upn, api.CreatePassRequest{})
		stranger := e.newKiosk("stranger")
		e.lockOutAt(stranger, upn)

		// The person, at another kiosk, is not held back.
		if _, err := e.fresh(e.kiosk2).OpenSession(bg, upn, *p.TemporaryAccessPass); err != nil {
			t.Fatalf("the right pass at another kiosk: %v", err)
		}
		// The unlock names the cause and revokes that kiosk with it.
		l, err := e.admin.Unlock(bg, upn, true)
		if err != nil || !l.WasLocked || len(l.LockedBy) != 1 || l.LockedBy[0].Kiosk != "stranger" || l.LockedBy[0].Scope != "kiosk" ||
			l.LockedBy[0].ClientAddress != "127.0.0.1" || fmt.Sprint(l.RevokedKiosks) != "[stranger]" {
			t.Fatalf("unlock: %+v %v", l, err)
		}
		_, err = e.fresh(stranger).OpenSession(bg, upn, "WrongGuess")
		code(t, err, 401, api.CodeTokenRevoked)
		es, _ := e.admin.Audit(bg, api.AuditQuery{Action: api.ActionUnlockUser})
		if len(es) != 1 || !strings.Contains(es[0].Details["lockedBy1"], "stranger from 127.0.0.1") {
			t.Fatalf("the unlock's audit does not name the cause: %+v", es)
		}
		// Revoking needs the kiosk permission as well as the user's.
		helpdesk := e.tokenClient("helpdesk", api.RoleAuthenticationAdministrator)
		_, err = helpdesk.Unlock(bg, upn, true)
		code(t, err, 403, api.CodeForbidden)

		// The account-wide bound: 3 kiosks × 10 reach 30, and the account
		// is locked at every kiosk.
		for i := 0; i < 3; i++ {
			e.lockOutAt(e.newKiosk(fmt.Sprint("many", i)), upn)
		}
		_, err = e.fresh(e.newKiosk("elsewhere")).OpenSession(bg, upn, *p.TemporaryAccessPass)
		if ae := code(t, err, 429, api.CodeTooManyAttempts); !strings.Contains(ae.Message, "for this account.") {
			t.Fatalf("message %q", ae.Message)
		}
		if l, err := e.admin.Unlock(bg, upn, false); err != nil || len(l.LockedBy) != 4 || len(l.RevokedKiosks) != 0 {
			t.Fatalf("unlock of the account-wide lock: %+v %v", l, err)
		}

		// A name nobody has yet, locked in advance, does not lock the
		// user who later gets it.
		const later = "newcomer@example.com"
		e.lockOutAt(e.kiosk, later)
		e.addUser(api.User{UserPrincipalName: later})
		np := e.newPass(later, api.CreatePassRequest{})
		if _, err := e.fresh(e.kiosk).OpenSession(bg, later, *np.TemporaryAccessPass); err != nil {
			t.Fatalf("a user locked before they existed: %v", err)
		}
	})
}

// lockOutAt makes the threshold's wrong guesses at upn from kiosk k, and
// checks the next one is refused.
func (e *env) lockOutAt(k *api.Client, upn string) {
	e.t.Helper()
	for i := 0; i < recovery.DefaultLockout.UserThreshold; i++ {
		e.fresh(k).OpenSession(bg, upn, "WrongGuess")
	}
	_, err := e.fresh(k).OpenSession(bg, upn, "WrongGuess")
	if ae, ok := err.(*api.Error); !ok || ae.Status != 429 {
		e.t.Fatalf("not locked at the kiosk: %v", err)
	}
}
