package recovery

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
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

// Lockout sets the failure limits. After Threshold failures inside Window
// the key is locked for Base, doubling with each further failure up to Max.
type Lockout struct {
	UserThreshold  int
	KioskThreshold int
	Base           time.Duration
	Max            time.Duration
	UserWindow     time.Duration
	KioskWindow    time.Duration
}

// DefaultLockout: 10 wrong passes lock a user's pass sign-in for a minute,
// doubling; a kiosk that sees 50 failures within an hour is throttled the
// same way, which slows a person trying many accounts from one kiosk.
var DefaultLockout = Lockout{UserThreshold: 10, KioskThreshold: 50, Base: time.Minute, Max: 24 * time.Hour,
	UserWindow: 24 * time.Hour, KioskWindow: time.Hour}

func userKey(upn string) string { return "user:" + tap.UPNKey(upn) }
func kioskKey(id string) string { return "kiosk:" + id }

func tooMany(d time.Duration, who string) error {
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

// lockedFor returns how long key is still locked, or 0.
func (s *Service) lockedFor(ctx context.Context, key string, now time.Time) (time.Duration, error) {
	th, err := s.st.GetThrottle(ctx, key)
	if err != nil {
		return 0, err
	}
	if now.Before(th.LockedUntil) {
		return th.LockedUntil.Sub(now), nil
	}
	return 0, nil
}

// fail counts one failure for key and locks it once the threshold is
// reached: Base for the threshold-th failure, doubling for each one after,
// capped at Max. It returns the new lock's length, or 0.
func (s *Service) fail(ctx context.Context, key string, threshold int, window time.Duration, now time.Time) (time.Duration, error) {
	n, err := s.st.RecordFailure(ctx, key, now, window)
	if err != nil || n < threshold {
		return 0, err
	}
	lo := s.cfg.Lockout
	d := lo.Max
	if shift := n - threshold; shift < 30 {
		d = min(lo.Base<<shift, lo.Max)
	}
	return d, s.st.LockUntil(ctx, key, now.Add(d))
}

// wrongPass counts the failure against the account and the kiosk and
// answers 401, or 429 when this failure started a lockout.
func (s *Service) wrongPass(ctx context.Context, c *Caller, upn string, now time.Time) error {
	lo := s.cfg.Lockout
	du, err := s.fail(ctx, userKey(upn), lo.UserThreshold, lo.UserWindow, now)
	if err != nil {
		return err
	}
	dk, err := s.fail(ctx, kioskKey(c.Kiosk.ID), lo.KioskThreshold, lo.KioskWindow, now)
	if err != nil {
		return err
	}
	switch {
	case du > 0:
		return tooMany(du, "for this account")
	case dk > 0:
		return tooMany(dk, "at this kiosk")
	}
	return api.ErrInvalidCredentials
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

	for _, k := range []struct{ key, kind, who string }{{kioskKey(c.Kiosk.ID), "kiosk", "at this kiosk"}, {userKey(upn), "user", "for this account"}} {
		d, err := s.lockedFor(ctx, k.key, now)
		if err != nil {
			return SignedIn{}, err
		}
		if d > 0 {
			return deny("lockedOut", tooMany(d, k.who), map[string]string{"lock": k.kind})
		}
	}

	user, uerr := s.st.GetUser(ctx, upn)
	var p store.Pass
	perr := uerr
	if uerr == nil {
		p, perr = s.st.GetPass(ctx, upn)
	}
	for _, err := range []error{uerr, perr} {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return SignedIn{}, err
		}
	}
	hash := s.dummyHash
	if perr == nil {
		hash = p.Hash
	}
	ok, err := tap.VerifyPass(hash, pass)
	if err != nil {
		c.Log.Error("stored pass hash unreadable", "pass_id", p.ID, "err", err)
		ok = false
	}
	if !ok || perr != nil {
		reason := "wrongPass"
		switch {
		case uerr != nil:
			reason = "unknownUser"
		case perr != nil:
			reason = "noPass"
		}
		err := s.wrongPass(ctx, c, upn, now)
		if fp, ok := s.dir.(directory.ForeignPasses); ok && perr != nil && err == api.ErrInvalidCredentials && fp.HasPassElsewhere(ctx, upn) {
			// Counted as a failure all the same; see README on what this tells.
			return deny("passNotFromTapkiosk", errPassNotCheckable, nil)
		}
		return deny(reason, err, nil)
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
	switch err := s.st.OpenSession(ctx, sess, p.IsUsableOnce, now); {
	case errors.Is(err, store.ErrPassUsed):
		return deny("alreadyUsed", errAlreadyUsed, details)
	case errors.Is(err, store.ErrNotFound):
		// Deleted or replaced between the check and now.
		return deny("passDeleted", api.ErrInvalidCredentials, details)
	case err != nil:
		return SignedIn{}, err
	}
	for _, k := range []string{userKey(upn), kioskKey(c.Kiosk.ID)} {
		if err := s.st.ClearThrottle(ctx, k); err != nil {
			c.Log.Warn("clear throttle", "err", err)
		}
	}
	details["sessionId"] = sess.ID
	details["expiresDateTime"] = sess.ExpiresAt.Format(time.RFC3339)
	s.succeeded(ctx, c, api.ActionSignIn, target, details)
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
	return api.Session{UserPrincipalName: u.UPN, DisplayName: u.DisplayName, ExpiresDateTime: sess.ExpiresAt, HasOtherMethods: others > 0}, nil
}

// Session describes the caller's session.
func (s *Service) Session(ctx context.Context, c *Caller) (api.Session, error) {
	u, err := s.st.GetUser(ctx, c.Session.UPN)
	if err != nil {
		return api.Session{}, err
	}
	return s.sessionOut(ctx, *c.Session, u)
}

// SignOut ends the caller's session.
func (s *Service) SignOut(ctx context.Context, c *Caller) error {
	if err := s.st.DeleteSession(ctx, c.Session.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	s.succeeded(ctx, c, api.ActionSignOut, tap.UPNKey(c.Session.UPN), map[string]string{"sessionId": c.Session.ID})
	return nil
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
