package server

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

func userKey(upn string) string      { return "user:" + tap.UPNKey(upn) }
func kioskKey(id string) string      { return "kiosk:" + id }
func retryAfter(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

func tooMany(d time.Duration, who string) error {
	e := api.Errf(http.StatusTooManyRequests, api.CodeTooManyAttempts, "Too many wrong attempts %s. Try again in %s.", who, humanDuration(d))
	e.RetryAfterSeconds = max(1, retryAfter(d))
	return e
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
func (s *Server) lockedFor(ctx context.Context, key string, now time.Time) (time.Duration, error) {
	th, err := s.store.GetThrottle(ctx, key)
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
func (s *Server) fail(ctx context.Context, key string, threshold int, window time.Duration, now time.Time) (time.Duration, error) {
	n, err := s.store.RecordFailure(ctx, key, now, window)
	if err != nil || n < threshold {
		return 0, err
	}
	lo := s.cfg.Lockout
	d := lo.Max
	if shift := n - threshold; shift < 30 {
		d = min(lo.Base<<shift, lo.Max)
	}
	return d, s.store.LockUntil(ctx, key, now.Add(d))
}

// openSession signs a person in with a pass. Wrong pass and unknown user
// get one answer after the same Argon2id work; a right pass that can't be
// used gets a specific answer, since the caller has proved they hold it.
func (s *Server) openSession(c *call) error {
	var req api.SessionRequest
	if err := s.decode(c, &req); err != nil {
		return err
	}
	upn, err := tap.NormalizeUPN(req.UserPrincipalName)
	if err != nil {
		e := api.Errf(http.StatusBadRequest, api.CodeInvalidValue, "userPrincipalName %s.", err.Error())
		e.Target = "userPrincipalName"
		return e
	}
	pass := strings.TrimSpace(req.TemporaryAccessPass)
	if pass == "" || len(pass) > 256 {
		e := api.Errf(http.StatusBadRequest, api.CodeInvalidValue, "temporaryAccessPass must be given (up to 256 characters).")
		e.Target = "temporaryAccessPass"
		return e
	}
	ctx := c.r.Context()
	now := s.now()
	target := tap.UPNKey(upn)
	deny := func(reason string, err error, details map[string]string) error {
		s.audit(c, api.ActionSessionDenied, target, "failure", reason, details)
		return err
	}

	for _, k := range []struct{ key, who string }{{kioskKey(c.kiosk.ID), "at this kiosk"}, {userKey(upn), "for this account"}} {
		d, err := s.lockedFor(ctx, k.key, now)
		if err != nil {
			return err
		}
		if d > 0 {
			return deny("lockedOut", tooMany(d, k.who), map[string]string{"lock": strings.SplitN(k.key, ":", 2)[0]})
		}
	}

	user, uerr := s.store.GetUser(ctx, upn)
	var p store.Pass
	perr := uerr
	if uerr == nil {
		p, perr = s.store.GetPass(ctx, upn)
	}
	for _, err := range []error{uerr, perr} {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	hash := s.dummyHash
	if perr == nil {
		hash = p.Hash
	}
	ok, err := tap.VerifyPass(hash, pass)
	if err != nil {
		c.log.Error("stored pass hash unreadable", "pass_id", p.ID, "err", err)
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
		err := s.wrongPass(c, upn, now)
		if s.entra() && perr != nil && err == api.ErrInvalidCredentials && s.entraHasPass(c, upn) {
			// Counted as a failure all the same; see README on what this tells.
			return deny("passNotFromTapkiosk", errPassNotCheckable, nil)
		}
		return deny(reason, err, nil)
	}

	details := map[string]string{"passId": p.ID}
	pol, member, dirReason, err := s.signInRules(c, user, p)
	if errors.Is(err, errPassGone) {
		if derr := s.store.DeletePass(ctx, p.UPN, p.ID); derr != nil && !errors.Is(derr, store.ErrNotFound) {
			c.log.Warn("stale pass not deleted", "pass_id", p.ID, "err", derr)
		}
		return deny("passDeletedInEntra", err, details)
	}
	if err != nil {
		return err
	}
	st := tap.PassState{Start: p.StartAt, LifetimeMinutes: p.LifetimeMinutes, IsUsableOnce: p.IsUsableOnce, Used: p.UsedAt != nil}
	usable, reason := tap.Usability(pol, member, st, now)
	if usable && dirReason != "" {
		usable, reason = false, dirReason
	}
	if !usable {
		switch {
		case reason == tap.DisabledByPolicy && pol.State != "enabled":
			return deny("policyDisabled", api.Errf(http.StatusForbidden, api.CodePolicyDisabled,
				"Temporary Access Pass sign-in is turned off. Ask IT for help."), details)
		case reason == tap.DisabledByPolicy:
			return deny("notInPolicy", api.Errf(http.StatusForbidden, api.CodeNotInPolicy,
				"Your account isn't enabled for Temporary Access Pass sign-in. Ask IT to add you to the policy."), details)
		case reason == tap.NotYetValid:
			start := p.StartAt
			e := api.Errf(http.StatusForbidden, api.CodePassNotYetValid, "This pass becomes valid at %s.", start.Format("2006-01-02 15:04 MST"))
			e.StartDateTime = &start
			return deny("notYetValid", e, details)
		case reason == tap.Expired:
			return deny("expired", api.Errf(http.StatusForbidden, api.CodePassExpired, "This pass has expired. Ask IT for a new one."), details)
		default:
			return deny("alreadyUsed", api.Errf(http.StatusForbidden, api.CodePassAlreadyUsed, "This one-time pass has already been used. Ask IT for a new one."), details)
		}
	}

	tok := newToken(api.SessionTokenPrefix)
	// A session ends at the earlier of the pass's end and the service limit.
	expires := now.Add(s.cfg.SessionLimit)
	if st.End().Before(expires) {
		expires = st.End()
	}
	expires = expires.UTC().Truncate(time.Millisecond)
	sess := store.Session{ID: uuid.NewString(), TokenHash: hashToken(tok), KioskID: c.kiosk.ID, UPN: user.UPN, PassID: p.ID,
		CreatedAt: now.UTC().Truncate(time.Millisecond), ExpiresAt: expires}
	// Built before the session opens: in Entra mode it asks Graph, and a
	// Graph outage must not leave a one-time pass spent on a session the
	// kiosk never got.
	out, err := s.sessionOut(c, sess, user)
	if err != nil {
		return err
	}
	switch err := s.store.OpenSession(ctx, sess, p.IsUsableOnce, now); {
	case errors.Is(err, store.ErrPassUsed):
		return deny("alreadyUsed", api.Errf(http.StatusForbidden, api.CodePassAlreadyUsed, "This one-time pass has already been used. Ask IT for a new one."), details)
	case errors.Is(err, store.ErrNotFound):
		// Deleted or replaced between the check and now.
		return deny("passDeleted", api.ErrInvalidCredentials, details)
	case err != nil:
		return err
	}
	for _, k := range []string{userKey(upn), kioskKey(c.kiosk.ID)} {
		if err := s.store.ClearThrottle(ctx, k); err != nil {
			c.log.Warn("clear throttle", "err", err)
		}
	}
	details["sessionId"] = sess.ID
	details["expiresDateTime"] = expires.Format(time.RFC3339)
	s.audit(c, api.ActionSignIn, target, "success", "", details)
	out.SessionToken = tok
	return c.writeJSON(http.StatusCreated, out)
}

// signInRules gathers what decides whether a right pass may sign in: the
// policy, the person's groups for its targets and, in Entra mode, Entra's
// own verdict on the pass (its methodUsabilityReason when not usable, or
// errPassGone when Entra no longer has it).
func (s *Server) signInRules(c *call, u store.User, p store.Pass) (tap.Policy, tap.Member, string, error) {
	m := tap.Member{UPN: u.UPN, Groups: u.Groups}
	if !s.entra() {
		pol, err := s.loadPolicy(c)
		return pol, m, "", err
	}
	reason, err := s.entraPassState(c, p)
	if err != nil {
		return tap.Policy{}, m, "", err
	}
	pol, err := s.entraPolicy(c)
	if err != nil {
		return pol, m, "", err
	}
	m.Groups, err = s.entraGroups(c, u.UPN)
	return pol, m, reason, err
}

// wrongPass counts the failure against the account and the kiosk and
// answers 401, or 429 when this failure started a lockout.
func (s *Server) wrongPass(c *call, upn string, now time.Time) error {
	ctx := c.r.Context()
	lo := s.cfg.Lockout
	du, err := s.fail(ctx, userKey(upn), lo.UserThreshold, lo.UserWindow, now)
	if err != nil {
		return err
	}
	dk, err := s.fail(ctx, kioskKey(c.kiosk.ID), lo.KioskThreshold, lo.KioskWindow, now)
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

func (s *Server) sessionOut(c *call, sess store.Session, u store.User) (api.Session, error) {
	others := 0
	if s.entra() {
		ms, err := s.entraMethods(c, u.UPN, "")
		if err != nil {
			return api.Session{}, err
		}
		for _, m := range ms {
			if m.Type != api.TypeTAP {
				others++
			}
		}
	} else {
		ms, err := s.store.ListMethods(c.r.Context(), u.UPN)
		if err != nil {
			return api.Session{}, err
		}
		others = len(ms)
	}
	return api.Session{UserPrincipalName: u.UPN, DisplayName: u.DisplayName, ExpiresDateTime: sess.ExpiresAt, HasOtherMethods: others > 0}, nil
}

func (s *Server) getSession(c *call) error {
	u, err := s.store.GetUser(c.r.Context(), c.session.UPN)
	if err != nil {
		return err
	}
	out, err := s.sessionOut(c, *c.session, u)
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, out)
}

func (s *Server) signOut(c *call) error {
	if err := s.store.DeleteSession(c.r.Context(), c.session.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	s.audit(c, api.ActionSignOut, tap.UPNKey(c.session.UPN), "success", "", map[string]string{"sessionId": c.session.ID})
	return c.noContent()
}

// deleteSessionPass deletes the signed-in person's pass; the store ends
// every session made with it in the same transaction.
func (s *Server) deleteSessionPass(c *call) error {
	if s.entra() {
		if err := s.deleteEntraPass(c, c.session.UPN, c.session.PassID, map[string]string{"passId": c.session.PassID, "sessionId": c.session.ID}); err != nil {
			return err
		}
		return c.noContent()
	}
	err := s.store.DeletePass(c.r.Context(), c.session.UPN, c.session.PassID)
	if errors.Is(err, store.ErrNotFound) {
		return unauth(api.CodeInvalidSession, "The pass is already gone, so the session has ended.")
	}
	if err != nil {
		return err
	}
	s.audit(c, api.ActionDeletePass, tap.UPNKey(c.session.UPN), "success", "", map[string]string{"passId": c.session.PassID, "sessionId": c.session.ID})
	return c.noContent()
}
