package recovery

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"crypto/rand"

	"github.com/google/uuid"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/internal/argon2"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

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
	var ok bool
	var herr error // the stored hash's, apart from the gate's
	if err := s.hashRun.do(ctx, func(buf *argon2.Buffer) { ok, herr = tap.VerifyPassIn(buf, hash, pass) }); err != nil {
		return v, err
	}
	if herr != nil {
		c.Log.Error("stored pass hash unreadable", "pass_id", v.pass.ID, "err", herr)
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

// settleWrong records a wrong guess: the failure on every guard, its
// audit entry and, when it starts a lock, the notice, in one transaction
// on bk, so the three are kept together or not at all. A client that hung
// up during the check (ctx done) is audited as such ("clientGone", the
// verdict in details); its guess counts all the same, or hanging up would
// be a free guess.
func (s *Service) settleWrong(ctx, bk context.Context, c *Caller, gs []guard, id, target, upn string, v verdict, now time.Time) error {
	// Asked before the transaction, which must not wait on the directory;
	// with the request's context, as only a client still there hears it.
	foreign := false
	if fp, ok := s.dir.(directory.ForeignPasses); ok && v.noPass && ctx.Err() == nil {
		foreign = fp.HasPassElsewhere(ctx, upn)
	}
	var out error
	var en store.AuditEntry
	var started []lockStart
	err := s.st.Atomically(bk, func(tx store.Store) error {
		details, st, answer, err := s.wrongPass(bk, tx, c, gs, id, now)
		if err != nil {
			return err
		}
		started, out = st, answer
		reason := v.reason
		switch {
		case ctx.Err() != nil:
			reason = "clientGone"
			if details == nil {
				details = map[string]string{}
			}
			details["verdict"] = v.reason
		case foreign && answer == api.ErrInvalidCredentials:
			// Counted as a failure all the same; see README on what this tells.
			reason, out = "passNotFromTapkiosk", errPassNotCheckable
		}
		en, err = s.recordWith(bk, tx, c, Event{Action: api.ActionSessionDenied, Target: target, Result: store.AuditFailure,
			Reason: reason, Details: details})
		return err
	})
	if err != nil {
		// Not recorded: the reservations run out on their own (holdFor).
		c.Log.Error("record a wrong pass", "err", err)
		return err
	}
	for _, l := range started {
		s.obs.Locked(l.kind, l.d)
	}
	s.obs.Audited(en)
	return out
}

// settleGone gives back a right pass's reservations when the client hung
// up before its session opened (nothing was opened or spent), with the
// audit entry saying so, in one transaction on bk.
func (s *Service) settleGone(bk context.Context, c *Caller, gs []guard, id, target string, details map[string]string) {
	var en store.AuditEntry
	err := s.st.Atomically(bk, func(tx store.Store) error {
		if err := s.release(bk, tx, gs, id); err != nil {
			return err
		}
		var err error
		en, err = s.recordWith(bk, tx, c, Event{Action: api.ActionSessionDenied, Target: target, Result: store.AuditFailure,
			Reason: "clientGone", Details: details})
		return err
	})
	if err != nil {
		c.Log.Error("record a sign-in whose client hung up", "err", err)
		return
	}
	s.obs.Audited(en)
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
	// Past the hash budget, 503 at once: before the name's look-up and the lock reads, which
	// queue for the store behind everything else under the very burst that
	// fills the slots. (Whether a slot is free is looked at again below,
	// when one is taken.)
	if len(s.hashSlots) == cap(s.hashSlots) {
		return SignedIn{}, s.busy(c)
	}
	target, err := s.signInTarget(ctx, upn)
	if err != nil {
		return SignedIn{}, err
	}

	// A locked key answers at once, before anything else, with one audit
	// row per lock (a count, not a flood).
	gs := s.guards(c, target)
	for _, g := range gs {
		th, err := s.st.GetThrottle(ctx, g.key)
		if err != nil {
			return SignedIn{}, err
		}
		if now.Before(th.LockedUntil) {
			return SignedIn{}, s.lockedOut(ctx, c, target, g, th, th.LockedUntil.Sub(now))
		}
	}
	// Then a hash slot (past the queue: 503 at once), then a turn at the
	// hash gate, then a reservation of every guard's guess, atomically,
	// before the hash runs. Waiting for the turn before reserving means at
	// most two reservations per hash runner are in flight, so right passes
	// in a burst are not held back by a round they are not part of (a
	// queue of 80 reserving first took the kiosk's round of 50), and the
	// wait in the queue is the client's, not the bookkeeping's 20 s: a
	// client that leaves while queued made no guess.
	done, ok := s.tryHash()
	if !ok {
		return SignedIn{}, s.busy(c)
	}
	if err := s.hashRun.enter(ctx); err != nil {
		done()
		return SignedIn{}, err
	}
	finish := func() { s.hashRun.leave(); done() }
	// From the first reservation on, the check has started: its
	// bookkeeping runs on bk, whatever the client does.
	bk, cancel := settling(ctx)
	defer cancel()
	id := randomHex(8)
	var held []guard
	for _, g := range gs {
		wait, th, err := s.reserve(bk, g, id, now)
		if err == nil && wait == 0 {
			held = append(held, g)
			continue
		}
		finish()
		s.releaseLogged(bk, c, held, id)
		if err != nil {
			return SignedIn{}, err
		}
		return SignedIn{}, s.lockedOut(bk, c, target, g, th, wait)
	}
	if s.cfg.CheckBegan != nil {
		s.cfg.CheckBegan(ctx)
	}
	v, err := s.checkPass(bk, c, upn, pass)
	finish()
	if err != nil {
		s.releaseLogged(bk, c, gs, id)
		return SignedIn{}, err
	}
	if !v.right {
		return SignedIn{}, s.settleWrong(ctx, bk, c, gs, id, target, upn, v, now)
	}
	// The pass is right, so no guess was wrong whatever follows: the
	// kiosk's and the address's reservations go back, and the account's
	// too unless the session opens (which clears it). A client that hung
	// up before the session opened gets none: its reservations go back
	// with an audit entry saying so.
	user, p := v.user, v.pass
	opened, audited := false, false
	defer func() {
		switch {
		case opened:
			s.releaseLogged(bk, c, otherKeys(gs), id)
		case !audited && ctx.Err() != nil:
			s.settleGone(bk, c, gs, id, target, map[string]string{"verdict": "rightPass", "passId": p.ID})
		default:
			s.releaseLogged(bk, c, gs, id)
		}
	}()
	deny := func(reason string, err error, details map[string]string) (SignedIn, error) {
		audited = true
		return SignedIn{}, s.refuse(bk, c, api.ActionSessionDenied, target, reason, err, details)
	}

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
		// A right pass clears the account's keys, here and across kiosks
		// (not the kiosk's or the address's: a person with one valid pass
		// must not be able to wipe a kiosk's count).
		for _, g := range gs {
			if g.kind == "user" || g.kind == "account" {
				if err := u.st.ClearThrottle(ctx, g.key); err != nil {
					return err
				}
			}
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
