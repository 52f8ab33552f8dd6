package recovery

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"crypto/rand"

	"github.com/google/uuid"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// Lockout sets the failure limits, per account, per kiosk and per client
// address. Each key gets a round of Threshold guesses; every guess is
// reserved before its hash is checked, so concurrent guesses can never
// overrun the round. When the round's guesses are all wrong the key is
// locked for Base. After a lock each round is one guess, and each lock is
// twice the one before, up to Max. A key whose last guess is older than
// its Window starts afresh. A right pass clears the account's key; a new
// pass from IT, or an admin's unlock, does too.
type Lockout struct {
	UserThreshold    int
	KioskThreshold   int
	AddressThreshold int // 0: no per-address limit
	Base             time.Duration
	Max              time.Duration
	UserWindow       time.Duration
	KioskWindow      time.Duration
	AddressWindow    time.Duration
}

// DefaultLockout: 10 wrong passes lock an account's pass sign-in for a
// minute, then one guess per lock, each lock doubling up to a day. A kiosk
// that sees 50 wrong passes within an hour is throttled the same way, which
// slows a person trying many accounts from one kiosk; a client address
// gets 100 (more, as several kiosks may share one).
var DefaultLockout = Lockout{UserThreshold: 10, KioskThreshold: 50, AddressThreshold: 100, Base: time.Minute, Max: 24 * time.Hour,
	UserWindow: 24 * time.Hour, KioskWindow: time.Hour, AddressWindow: time.Hour}

// inFlightWait is what a guess hears while its round's guesses are all
// being checked: one of them may still be right.
const inFlightWait = time.Second

// abandonAfter is how long a reservation may wait for its verdict before
// it is taken as abandoned (tapd stopped mid-check), so that a crash cannot
// hold a round shut.
const abandonAfter = time.Minute

func userKey(upn string) string { return "user:" + tap.UPNKey(upn) }
func kioskKey(id string) string { return "kiosk:" + id }
func addrKey(a string) string   { return "addr:" + a }

// guard is one lockout key a sign-in must pass.
type guard struct {
	key, kind, who string
	threshold      int
	window         time.Duration
}

// guards are the keys a sign-in must pass, the account's last.
func (s *Service) guards(c *Caller, upn string) []guard {
	lo := s.cfg.Lockout
	gs := []guard{{kioskKey(c.Kiosk.ID), "kiosk", "at this kiosk", lo.KioskThreshold, lo.KioskWindow}}
	if c.ClientAddr != "" && lo.AddressThreshold > 0 {
		gs = append(gs, guard{addrKey(c.ClientAddr), "address", "from this address", lo.AddressThreshold, lo.AddressWindow})
	}
	return append(gs, guard{userKey(upn), "user", "for this account", lo.UserThreshold, lo.UserWindow})
}

// allowance is how many guesses a round has: the threshold at first, one
// after each lock.
func allowance(level, threshold int) int {
	if level > 0 {
		return 1
	}
	return threshold
}

// lockLength is the level-th lock: Base, doubling, at most Max.
func (s *Service) lockLength(level int) time.Duration {
	lo := s.cfg.Lockout
	if level-1 >= 30 {
		return lo.Max
	}
	return min(lo.Base<<(level-1), lo.Max)
}

// reserve takes one guess of the key's round, atomically. A locked key,
// or one whose round is all in flight, gives the wait instead.
func (s *Service) reserve(ctx context.Context, g guard, now time.Time) (time.Duration, store.Throttle, error) {
	var wait time.Duration
	th, err := s.st.UpdateThrottle(ctx, g.key, func(t *store.Throttle) {
		wait = 0
		if now.Before(t.LockedUntil) {
			wait = t.LockedUntil.Sub(now)
			return
		}
		if last := max(t.LastFailure.UnixMilli(), t.ReservedAt.UnixMilli()); now.UnixMilli()-last > g.window.Milliseconds() {
			*t = store.Throttle{} // quiet for a whole window: forgotten
		}
		if t.Checked > t.Failures && now.Sub(t.ReservedAt) > abandonAfter {
			t.Checked = t.Failures
		}
		if t.Checked >= allowance(t.Level, g.threshold) {
			wait = inFlightWait
			return
		}
		t.Checked++
		t.ReservedAt = now
	})
	return wait, th, err
}

// fail records a reserved guess as wrong, and locks the key when it ends
// the round. It returns the new lock's length, or 0.
func (s *Service) fail(ctx context.Context, g guard, now time.Time) (time.Duration, error) {
	var lock time.Duration
	_, err := s.st.UpdateThrottle(ctx, g.key, func(t *store.Throttle) {
		lock = 0
		t.Failures++
		t.LastFailure = now
		if t.Failures >= allowance(t.Level, g.threshold) && !now.Before(t.LockedUntil) {
			t.Level++
			lock = s.lockLength(t.Level)
			t.LockedUntil, t.Checked, t.Failures = now.Add(lock), 0, 0
		}
	})
	return lock, err
}

// release gives back reservations whose guesses were not wrong: the hash
// was never run, or the pass was right. Errors only reach the log: a
// reservation not given back expires (abandonAfter).
func (s *Service) release(ctx context.Context, c *Caller, gs []guard) {
	for _, g := range gs {
		if _, err := s.st.UpdateThrottle(ctx, g.key, func(t *store.Throttle) {
			if t.Checked > t.Failures {
				t.Checked--
			}
		}); err != nil {
			c.Log.Warn("release a sign-in reservation", "key_kind", g.kind, "err", err)
		}
	}
}

// wrongPass records the wrong guess against every guard and answers 401,
// or 429 when it started a lock (the account's first, as the person
// cares most about that one). The locks it started are in details, for
// the audit entry and the notification.
func (s *Service) wrongPass(ctx context.Context, gs []guard, now time.Time) (map[string]string, error) {
	var out error = api.ErrInvalidCredentials
	var locked []string
	var details map[string]string
	for i := len(gs) - 1; i >= 0; i-- {
		d, err := s.fail(ctx, gs[i], now)
		if err != nil {
			return nil, err
		}
		if d > 0 {
			s.obs.Locked(gs[i].kind, d)
			locked = append(locked, gs[i].kind)
			if out == api.ErrInvalidCredentials {
				out = tooMany(d, gs[i].who)
				details = map[string]string{"lockedUntil": now.Add(d).UTC().Format(time.RFC3339)}
			}
		}
	}
	if len(locked) > 0 {
		details[lockStarted] = strings.Join(locked, ",")
	}
	return details, out
}

// lockedOut audits and words a refusal by guard g: locked, or (no lock
// yet) every guess of its round already being checked.
func (s *Service) lockedOut(ctx context.Context, c *Caller, target string, g guard, th store.Throttle, wait time.Duration) error {
	group := fmt.Sprintf("lockedOut|%s|%d|%d", g.key, th.Level, th.LockedUntil.UnixMilli())
	reason, err := "lockedOut", error(tooMany(wait, g.who))
	if !s.now().Before(th.LockedUntil) {
		reason = "checksInFlight"
		err = api.E(api.CodeTooManyAttempts, "Other sign-ins %s are being checked right now. Try again in a moment.", g.who).RetryAfter(1)
	}
	return s.refuseCounted(ctx, c, api.ActionSessionDenied, target, reason, group+"|"+reason, err, map[string]string{"lock": g.kind})
}

// clearLock forgets the account's sign-in guesses and lock, with st, and
// returns what they were, for the audit: an admin's unlock and a new pass
// from IT both end a lock.
func clearLock(ctx context.Context, st store.Store, upn string) (store.Throttle, error) {
	th, err := st.GetThrottle(ctx, userKey(upn))
	if err != nil {
		return th, err
	}
	return th, st.ClearThrottle(ctx, userKey(upn))
}

// lockStarted is the audit detail naming the locks a wrong guess started
// (user, kiosk, address; comma-separated).
const lockStarted = "lockStarted"

func tooMany(d time.Duration, who string) *api.Error {
	return api.E(api.CodeTooManyAttempts, "Too many wrong attempts %s. Try again in %s.", who, humanDuration(d)).
		RetryAfter(max(1, int(math.Ceil(d.Seconds()))))
}

func humanDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "under a minute"
	case d < 2*time.Minute:
		return "a minute"
	case d < time.Hour:
		return time.Duration(math.Ceil(d.Minutes()) * float64(time.Minute)).String()
	}
	return d.Round(time.Minute).String()
}

// errBusy is the answer when every hash slot is taken: at once, so a burst
// costs neither memory nor a queue.
var errBusy = api.E(api.CodeUnavailable, "tapd is checking many passes at once. Try again in a few seconds.").RetryAfter(2)

// tryHash takes a hash slot if one is free; done gives it back.
func (s *Service) tryHash() (done func(), ok bool) {
	select {
	case s.hashSlots <- struct{}{}:
		s.obs.HashSlots(len(s.hashSlots), cap(s.hashSlots), false)
		return func() { <-s.hashSlots; s.obs.HashSlots(len(s.hashSlots), cap(s.hashSlots), false) }, true
	default:
		return nil, false
	}
}

// busy refuses a sign-in because every hash slot is taken.
func (s *Service) busy(c *Caller) error {
	s.obs.HashSlots(len(s.hashSlots), cap(s.hashSlots), true)
	c.Log.Warn("sign-in refused: every hash slot is busy", "slots", cap(s.hashSlots))
	return errBusy
}

// verdict is what the hash check found.
type verdict struct {
	user   store.User
	pass   store.Pass
	right  bool
	noPass bool   // tapd holds no pass (or no person) for the UPN
	reason string // for a wrong one: wrongPass, unknownUser or noPass
}

// checkPass runs the Argon2id check: against the person's pass, or against
// a dummy hash when there is none, so both take the same time.
func (s *Service) checkPass(ctx context.Context, c *Caller, upn, pass string) (verdict, error) {
	var v verdict
	var uerr, perr error
	v.user, uerr = s.st.GetUser(ctx, upn)
	perr = uerr
	if uerr == nil {
		v.pass, perr = s.st.GetPass(ctx, upn)
	}
	for _, err := range []error{uerr, perr} {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return v, err
		}
	}
	hash := s.dummyHash
	if perr == nil {
		hash = v.pass.Hash
	}
	ok, err := tap.VerifyPass(hash, pass)
	if err != nil {
		c.Log.Error("stored pass hash unreadable", "pass_id", v.pass.ID, "err", err)
		ok = false
	}
	v.right, v.noPass = ok && perr == nil, perr != nil
	switch {
	case uerr != nil:
		v.reason = "unknownUser"
	case perr != nil:
		v.reason = "noPass"
	default:
		v.reason = "wrongPass"
	}
	return v, nil
}

// SignedIn is a session just opened, with its token, shown once.
type SignedIn struct {
	Session api.Session
	Token   string
}

var errAlreadyUsed = api.E(api.CodePassAlreadyUsed, "This one-time pass has already been used. Ask IT for a new one.")

var errPassNotCheckable = api.E(api.CodePassNotCheckable,
	"This pass was not made through tapkiosk (for example, it was made in the Entra admin centre), so the kiosk cannot check it. Ask IT for a pass made with tapctl.")

// SignIn signs a person in at the caller's kiosk with a pass. Wrong pass
// and unknown user get one answer after the same Argon2id work, and never
// reach the directory; a right pass that can't be used gets a specific
// answer, since the caller has proved they hold it.
func (s *Service) SignIn(ctx context.Context, c *Caller, rawUPN, rawPass string) (SignedIn, error) {
	upn, err := tap.NormalizeUPN(rawUPN)
	if err != nil {
		return SignedIn{}, api.Invalid("userPrincipalName", "userPrincipalName %s.", err.Error())
	}
	pass := strings.TrimSpace(rawPass)
	if pass == "" || len(pass) > 256 {
		return SignedIn{}, api.Invalid("temporaryAccessPass", "temporaryAccessPass must be given (up to 256 characters).")
	}
	now := s.now()
	target := tap.UPNKey(upn)
	deny := func(reason string, err error, details map[string]string) (SignedIn, error) {
		return SignedIn{}, s.refuse(ctx, c, api.ActionSessionDenied, target, reason, err, details)
	}

	// Past the hash budget, 503 at once: before the lock reads, which
	// queue for the store behind everything else under the very burst that
	// fills the slots. (Whether a slot is free is looked at again below,
	// when one is taken.)
	if len(s.hashSlots) == cap(s.hashSlots) {
		return SignedIn{}, s.busy(c)
	}
	// A locked key answers at once, before anything else, with one audit
	// row per lock (a count, not a flood).
	gs := s.guards(c, upn)
	for _, g := range gs {
		th, err := s.st.GetThrottle(ctx, g.key)
		if err != nil {
			return SignedIn{}, err
		}
		if now.Before(th.LockedUntil) {
			return SignedIn{}, s.lockedOut(ctx, c, target, g, th, th.LockedUntil.Sub(now))
		}
	}
	// Then a hash slot (past the budget: 503 at once), then a reservation
	// of every guard's guess, atomically, before the hash runs. Taking the
	// slot first means at most as many reservations are in flight as hash
	// slots, so right passes in a burst are not held back by a round they
	// are not part of.
	done, ok := s.tryHash()
	if !ok {
		return SignedIn{}, s.busy(c)
	}
	var held []guard
	for _, g := range gs {
		wait, th, err := s.reserve(ctx, g, now)
		if err == nil && wait == 0 {
			held = append(held, g)
			continue
		}
		done()
		s.release(ctx, c, held)
		if err != nil {
			return SignedIn{}, err
		}
		return SignedIn{}, s.lockedOut(ctx, c, target, g, th, wait)
	}
	v, err := s.checkPass(ctx, c, upn, pass)
	done()
	if err != nil {
		s.release(ctx, c, gs)
		return SignedIn{}, err
	}
	if !v.right {
		locks, err := s.wrongPass(ctx, gs, now)
		if fp, ok := s.dir.(directory.ForeignPasses); ok && v.noPass && err == api.ErrInvalidCredentials && fp.HasPassElsewhere(ctx, upn) {
			// Counted as a failure all the same; see README on what this tells.
			return deny("passNotFromTapkiosk", errPassNotCheckable, nil)
		}
		if locks[lockStarted] != "" && c.ClientAddr != "" {
			// The helpdesk console shows which kiosk (the entry's actor)
			// and which address started a lock.
			locks["clientAddr"] = c.ClientAddr
		}
		return deny(v.reason, err, locks)
	}
	// The pass is right, so no guess was wrong whatever follows: the
	// kiosk's and the address's reservations go back, and the account's
	// too unless the session opens (which clears it).
	user, p := v.user, v.pass
	opened := false
	defer func() {
		if opened {
			s.release(ctx, c, gs[:len(gs)-1])
		} else {
			s.release(ctx, c, gs)
		}
	}()

	details := map[string]string{"passId": p.ID}
	j, err := s.dir.JudgePass(ctx, p)
	var ae *api.Error
	if errors.As(err, &ae) && ae.Code == api.CodePassDeleted {
		return deny("passDeletedInEntra", err, details)
	}
	if err != nil {
		return SignedIn{}, err
	}
	st := tap.PassState{Start: p.StartAt, LifetimeMinutes: p.LifetimeMinutes, IsUsableOnce: p.IsUsableOnce, Used: p.UsedAt != nil}
	usable, reason := tap.Usability(j.Policy, j.Member, st, now)
	if usable && j.Reason != "" {
		usable, reason = false, j.Reason
	}
	if !usable {
		switch {
		case reason == tap.DisabledByPolicy && j.Policy.State != "enabled":
			return deny("policyDisabled", api.E(api.CodePolicyDisabled, "Temporary Access Pass sign-in is turned off. Ask IT for help."), details)
		case reason == tap.DisabledByPolicy:
			return deny("notInPolicy", api.E(api.CodeNotInPolicy,
				"Your account isn't enabled for Temporary Access Pass sign-in. Ask IT to add you to the policy."), details)
		case reason == tap.NotYetValid:
			start := p.StartAt
			e := api.E(api.CodePassNotYetValid, "This pass becomes valid at %s.", start.Format("2006-01-02 15:04 MST"))
			e.StartDateTime = &start
			return deny("notYetValid", e, details)
		case reason == tap.Expired:
			return deny("expired", api.E(api.CodePassExpired, "This pass has expired. Ask IT for a new one."), details)
		default:
			return deny("alreadyUsed", errAlreadyUsed, details)
		}
	}

	tok := newToken(api.SessionTokenPrefix)
	// A session ends at the earlier of the pass's end and the service limit.
	expires := now.Add(s.cfg.SessionLimit)
	if st.End().Before(expires) {
		expires = st.End()
	}
	sess := store.Session{ID: uuid.NewString(), TokenHash: HashToken(tok), KioskID: c.Kiosk.ID, UPN: user.UPN, PassID: p.ID,
		CreatedAt: ms(now), ExpiresAt: ms(expires)}
	// Built before the session opens: it may ask the directory, and an
	// outage there must not leave a one-time pass spent on a session the
	// kiosk never got.
	out, err := s.sessionOut(ctx, sess, user)
	if err != nil {
		return SignedIn{}, err
	}
	details["sessionId"] = sess.ID
	details["expiresDateTime"] = sess.ExpiresAt.Format(time.RFC3339)
	err = s.inStore(ctx, func(u unit) error {
		if err := u.st.OpenSession(ctx, sess, p.IsUsableOnce, now); err != nil {
			return err
		}
		if err := u.st.ClearThrottle(ctx, userKey(upn)); err != nil {
			return err
		}
		return s.done(ctx, c, u, api.ActionSignIn, target, details)
	})
	switch {
	case errors.Is(err, store.ErrPassUsed):
		return deny("alreadyUsed", errAlreadyUsed, details)
	case errors.Is(err, store.ErrNotFound):
		// Deleted or replaced between the check and now.
		return deny("passDeleted", api.ErrInvalidCredentials, details)
	case err != nil:
		return SignedIn{}, err
	}
	opened = true
	return SignedIn{Session: out, Token: tok}, nil
}

func (s *Service) sessionOut(ctx context.Context, sess store.Session, u store.User) (api.Session, error) {
	ms, err := s.dir.Methods(ctx, u.UPN)
	if err != nil {
		return api.Session{}, err
	}
	others := 0
	for _, m := range ms {
		if m.Kind != directory.KindTAP {
			others++
		}
	}
	return sessionView(sess, u, others > 0), nil
}

func sessionView(sess store.Session, u store.User, hasOthers bool) api.Session {
	return api.Session{UserPrincipalName: u.UPN, DisplayName: u.DisplayName, ExpiresDateTime: sess.ExpiresAt, HasOtherMethods: hasOthers}
}

// Session describes the caller's session. With what authentication read
// beside it (KioskSession) and a directory whose methods are the store's,
// that is no further read at all: this is the kiosk's poll.
func (s *Service) Session(ctx context.Context, c *Caller) (api.Session, error) {
	if c.sessionUser == nil { // not authenticated through KioskSession
		u, err := s.st.GetUser(ctx, c.Session.UPN)
		if err != nil {
			return api.Session{}, err
		}
		return s.sessionOut(ctx, *c.Session, u)
	}
	if _, ok := s.dir.(directory.MethodsInStore); ok {
		return sessionView(*c.Session, *c.sessionUser, c.storedMethods), nil
	}
	return s.sessionOut(ctx, *c.Session, *c.sessionUser)
}

// SignOut ends the caller's session.
func (s *Service) SignOut(ctx context.Context, c *Caller) error {
	return s.inStore(ctx, func(u unit) error {
		if err := u.st.DeleteSession(ctx, c.Session.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return s.done(ctx, c, u, api.ActionSignOut, tap.UPNKey(c.Session.UPN), map[string]string{"sessionId": c.Session.ID})
	})
}

// DeleteSessionPass deletes the signed-in person's pass, which ends every
// session made with it.
func (s *Service) DeleteSessionPass(ctx context.Context, c *Caller) error {
	details := map[string]string{"passId": c.Session.PassID, "sessionId": c.Session.ID}
	err := s.deletePass(ctx, c, c.Session.UPN, c.Session.PassID, details)
	if errors.Is(err, store.ErrNotFound) {
		return api.Unauthorized(api.CodeInvalidSession, "The pass is already gone, so the session has ended.")
	}
	return err
}

// ---- tokens ----

// HashToken is how tokens are stored: they are 256-bit random values, so
// a fast hash is enough and a stolen database yields no usable token.
func HashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// newToken returns a fresh token with the kind's prefix.
func newToken(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}
