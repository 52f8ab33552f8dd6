package recovery

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/store"
)

// The console's limits: an invitation lasts 15 minutes; a staff session
// ends after 15 idle minutes or 8 hours, whichever comes first.
const (
	StaffInviteLife  = 15 * time.Minute
	StaffSessionIdle = 15 * time.Minute
	StaffSessionMax  = 8 * time.Hour
	// staffTokenPrefix marks console invitation and session tokens.
	staffTokenPrefix = "tkc_"
)

// Ceremony kinds of the console's passkeys.
const (
	ceremonyStaffEnrol  = "staffEnrolment"
	ceremonyStaffSignIn = "staffSignIn"
)

// StaffMember is a console staff member as the console shows them.
type StaffMember struct {
	ID, Name, Role string
	Passkeys       []StaffPasskey
}

// StaffPasskey is one of a staff member's passkeys.
type StaffPasskey struct {
	ID, Name, AAGUID string
	CreatedAt        time.Time
	LastUsedAt       *time.Time
	RevokedAt        *time.Time
}

// StaffSession is a signed-in staff member: the Caller fields to act as
// them, and the cookie's value (only on sign-in, to set the cookie).
type StaffSession struct {
	Token     string
	SessionID string
	StaffID   string
	Name      string
	Role      string
}

// Caller makes the staff member the asker of c: their role is what
// Authorize checks, their name what the audit records.
func (ss StaffSession) Caller(c *Caller) {
	c.StaffID = ss.StaffID
	c.Admin = &store.AdminToken{ID: "staff:" + ss.StaffID, Name: ss.Name, Role: ss.Role}
}

// staffUser is a staff member as go-webauthn's user.
type staffUser struct {
	st    store.Staff
	creds []webauthn.Credential
}

func (u staffUser) WebAuthnID() []byte                         { return u.st.UserHandle }
func (u staffUser) WebAuthnName() string                       { return u.st.Name }
func (u staffUser) WebAuthnDisplayName() string                { return u.st.Name }
func (u staffUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// loadStaffUser reads the staff member with their live passkeys.
func (s *Service) loadStaffUser(ctx context.Context, id string) (staffUser, map[string]store.StaffPasskey, error) {
	st, err := s.st.GetStaff(ctx, id)
	if err != nil {
		return staffUser{}, nil, err
	}
	keys, err := s.st.ListStaffPasskeys(ctx, id)
	if err != nil {
		return staffUser{}, nil, err
	}
	u := staffUser{st: st}
	byCred := map[string]store.StaffPasskey{}
	for _, k := range keys {
		if k.RevokedAt != nil {
			continue
		}
		u.creds = append(u.creds, webauthn.Credential{ID: k.CredentialID, PublicKey: k.PublicKey,
			Flags:         webauthn.CredentialFlags{UserPresent: true, UserVerified: true, BackupEligible: k.BackupEligible, BackupState: k.BackupState},
			Authenticator: webauthn.Authenticator{SignCount: k.SignCount}})
		byCred[string(k.CredentialID)] = k
	}
	return u, byCred, nil
}

func (s *Service) consoleRP() (*webauthn.WebAuthn, error) {
	if s.cfg.ConsoleRP == nil {
		return nil, api.E(api.CodeNotFound, "tapd serves no helpdesk console (start it with --console-listen).")
	}
	return s.cfg.ConsoleRP, nil
}

// InviteStaff makes a staff member with a role and returns the token of
// their one-time invitation, shown once: only its hash is kept.
func (s *Service) InviteStaff(ctx context.Context, c *Caller, name, role string) (string, time.Time, error) {
	if _, err := s.consoleRP(); err != nil {
		return "", time.Time{}, err
	}
	name, err := validName("name", name)
	if err != nil {
		return "", time.Time{}, err
	}
	if !IsRole(role) {
		return "", time.Time{}, api.Invalid("role", "role must be one of %s.", strings.Join(api.Roles, ", "))
	}
	now := ms(s.now())
	_, by := c.Actor()
	st := store.Staff{ID: uuid.NewString(), Name: name, Role: role, UserHandle: []byte(randomHex(16)), CreatedAt: now, CreatedBy: by}
	tok := newToken(staffTokenPrefix)
	inv := store.StaffInvite{TokenHash: HashToken(tok), StaffID: st.ID, CreatedAt: now, ExpiresAt: now.Add(StaffInviteLife)}
	err = s.inStore(ctx, func(u unit) error {
		if err := u.st.CreateStaff(ctx, st, inv); err != nil {
			return err
		}
		return s.done(ctx, c, u, api.ActionInviteStaff, name, map[string]string{"staffId": st.ID, "role": role})
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return "", time.Time{}, api.Conflict(api.CodeAlreadyExists, "A staff member named %q already exists.", name)
	}
	return tok, inv.ExpiresAt, err
}

var errBadInvite = api.E(api.CodeInvalidToken, "This invitation link cannot be used: it was used already, has expired, or was never made. Ask an administrator for a new one.")

// StaffInvitation is whom a live invitation is for.
func (s *Service) StaffInvitation(ctx context.Context, token string) (StaffMember, error) {
	inv, err := s.st.GetStaffInvite(ctx, HashToken(token))
	if errors.Is(err, store.ErrNotFound) || err == nil && (inv.UsedAt != nil || !s.now().Before(inv.ExpiresAt)) {
		return StaffMember{}, errBadInvite
	}
	if err != nil {
		return StaffMember{}, err
	}
	st, err := s.st.GetStaff(ctx, inv.StaffID)
	return StaffMember{ID: st.ID, Name: st.Name, Role: st.Role}, err
}

// BeginStaffEnrolment gives the creation options for the invited staff
// member's passkey (JSON for navigator.credentials.create).
func (s *Service) BeginStaffEnrolment(ctx context.Context, token string) (json.RawMessage, error) {
	rp, err := s.consoleRP()
	if err != nil {
		return nil, err
	}
	m, err := s.StaffInvitation(ctx, token)
	if err != nil {
		return nil, err
	}
	return s.beginStaffPasskey(ctx, rp, m.ID, HashToken(token))
}

// beginStaffPasskey gives creation options for a new passkey of the staff
// member; the ceremony is bound to them and to what allowed it (their
// invitation's hash, or their session).
func (s *Service) beginStaffPasskey(ctx context.Context, rp *webauthn.WebAuthn, staffID, boundTo string) (json.RawMessage, error) {
	u, _, err := s.loadStaffUser(ctx, staffID)
	if err != nil {
		return nil, err
	}
	rk := true
	opts, sd, err := rp.BeginRegistration(u, webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
		RequireResidentKey: &rk, ResidentKey: protocol.ResidentKeyRequirementRequired, UserVerification: protocol.VerificationRequired}),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation), webauthn.WithExclusions(webauthn.Credentials(u.creds).CredentialDescriptors()))
	if err != nil {
		return nil, err
	}
	if _, err := s.saveCeremony(ctx, s.st, keyOwner{operatorID: "staff:" + staffID}, ceremonyStaffEnrol, boundTo, sd); err != nil {
		return nil, err
	}
	return json.Marshal(opts)
}

// checkStaffPasskey verifies a new passkey's answer to the ceremony
// beginStaffPasskey began, and returns it ready to store.
func (s *Service) checkStaffPasskey(ctx context.Context, c *Caller, rp *webauthn.WebAuthn, staffID, boundTo, keyName string, body []byte) (store.StaffPasskey, error) {
	if keyName = strings.TrimSpace(keyName); keyName == "" {
		keyName = "passkey"
	}
	if e := badName("name", keyName); e != nil {
		return store.StaffPasskey{}, e
	}
	sd, err := s.takeCeremony(ctx, keyOwner{operatorID: "staff:" + staffID}, challengeOf(body), ceremonyStaffEnrol, boundTo)
	if err != nil {
		return store.StaffPasskey{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return store.StaffPasskey{}, webauthnError(c, api.CodeRegistrationRejected, "The passkey's answer was refused", err)
	}
	u, _, err := s.loadStaffUser(ctx, staffID)
	if err != nil {
		return store.StaffPasskey{}, err
	}
	cred, err := rp.CreateCredential(u, sd, parsed)
	if err != nil {
		return store.StaffPasskey{}, webauthnError(c, api.CodeRegistrationRejected, "The passkey's answer was refused", err)
	}
	return store.StaffPasskey{ID: uuid.NewString(), StaffID: staffID, CredentialID: cred.ID, PublicKey: cred.PublicKey, AAGUID: aaguidText(cred.Authenticator.AAGUID),
		SignCount: cred.Authenticator.SignCount, BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState, Name: keyName, CreatedAt: ms(s.now())}, nil
}

// FinishStaffEnrolment checks the new passkey, keeps it, uses up the
// invitation and signs the staff member in, all at once.
func (s *Service) FinishStaffEnrolment(ctx context.Context, c *Caller, token, keyName string, body []byte) (StaffSession, error) {
	rp, err := s.consoleRP()
	if err != nil {
		return StaffSession{}, err
	}
	m, err := s.StaffInvitation(ctx, token)
	if err != nil {
		return StaffSession{}, err
	}
	pk, err := s.checkStaffPasskey(ctx, c, rp, m.ID, HashToken(token), keyName, body)
	if err != nil {
		return StaffSession{}, err
	}
	now := pk.CreatedAt
	ss := StaffSession{StaffID: m.ID, Name: m.Name, Role: m.Role}
	ss.Caller(c)
	err = s.inStore(ctx, func(un unit) error {
		if _, err := un.st.UseStaffInvite(ctx, HashToken(token), now); err != nil {
			return err
		}
		if err := un.st.AddStaffPasskey(ctx, pk); err != nil {
			return err
		}
		if err := s.done(ctx, c, un, api.ActionEnrolStaffPasskey, m.Name, map[string]string{"passkeyId": pk.ID, "aaGuid": pk.AAGUID}); err != nil {
			return err
		}
		return s.openStaffSession(ctx, c, un, &ss, pk.ID)
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return StaffSession{}, errBadInvite
	case errors.Is(err, store.ErrAlreadyExists):
		return StaffSession{}, api.Conflict(api.CodeAlreadyRegistered, "This passkey is registered already.")
	}
	return ss, err
}

// sessionBound binds an added passkey's ceremony to the session that
// began it.
func sessionBound(ss StaffSession) string { return "session:" + ss.SessionID }

// BeginAddStaffPasskey gives creation options for another passkey of the
// signed-in staff member.
func (s *Service) BeginAddStaffPasskey(ctx context.Context, ss StaffSession) (json.RawMessage, error) {
	rp, err := s.consoleRP()
	if err != nil {
		return nil, err
	}
	return s.beginStaffPasskey(ctx, rp, ss.StaffID, sessionBound(ss))
}

// AddStaffPasskey keeps another passkey of the signed-in staff member.
func (s *Service) AddStaffPasskey(ctx context.Context, c *Caller, ss StaffSession, keyName string, body []byte) error {
	rp, err := s.consoleRP()
	if err != nil {
		return err
	}
	pk, err := s.checkStaffPasskey(ctx, c, rp, ss.StaffID, sessionBound(ss), keyName, body)
	if err != nil {
		return err
	}
	err = s.inStore(ctx, func(un unit) error {
		if err := un.st.AddStaffPasskey(ctx, pk); err != nil {
			return err
		}
		return s.done(ctx, c, un, api.ActionEnrolStaffPasskey, ss.Name, map[string]string{"passkeyId": pk.ID, "aaGuid": pk.AAGUID})
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return api.Conflict(api.CodeAlreadyRegistered, "This passkey is registered already.")
	}
	return err
}

// MyPasskeys lists the signed-in staff member's own passkeys.
func (s *Service) MyPasskeys(ctx context.Context, ss StaffSession) ([]StaffPasskey, error) {
	keys, err := s.st.ListStaffPasskeys(ctx, ss.StaffID)
	out := []StaffPasskey{}
	for _, k := range keys {
		out = append(out, passkeyOut(k))
	}
	return out, err
}

func passkeyOut(k store.StaffPasskey) StaffPasskey {
	return StaffPasskey{ID: k.ID, Name: k.Name, AAGUID: k.AAGUID, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}

// openStaffSession stores a new session for ss in the unit and audits the
// sign-in; ss gets the token for the cookie.
func (s *Service) openStaffSession(ctx context.Context, c *Caller, un unit, ss *StaffSession, passkeyID string) error {
	now := ms(s.now())
	ss.Token = newToken(staffTokenPrefix)
	ss.SessionID = uuid.NewString()
	if err := un.st.CreateStaffSession(ctx, store.StaffSession{ID: ss.SessionID, TokenHash: HashToken(ss.Token), StaffID: ss.StaffID, PasskeyID: passkeyID,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(StaffSessionMax)}); err != nil {
		return err
	}
	return s.done(ctx, c, un, api.ActionStaffSignIn, ss.Name, map[string]string{"passkeyId": passkeyID, "sessionId": ss.SessionID})
}

// BeginStaffSignIn gives the request options of a sign-in with any of the
// console's passkeys (discoverable: the passkey says whose it is).
func (s *Service) BeginStaffSignIn(ctx context.Context) (json.RawMessage, error) {
	rp, err := s.consoleRP()
	if err != nil {
		return nil, err
	}
	opts, sd, err := rp.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, err
	}
	if _, err := s.saveCeremony(ctx, s.st, keyOwner{operatorID: "console"}, ceremonyStaffSignIn, "", sd); err != nil {
		return nil, err
	}
	return json.Marshal(opts)
}

var errStaffSignIn = api.E(api.CodeAssertionRejected, "This passkey cannot sign in to the console: it is not registered here, or it was revoked.")

// FinishStaffSignIn checks a passkey's assertion and opens a session.
func (s *Service) FinishStaffSignIn(ctx context.Context, c *Caller, body []byte) (StaffSession, error) {
	rp, err := s.consoleRP()
	if err != nil {
		return StaffSession{}, err
	}
	sd, err := s.takeCeremony(ctx, keyOwner{operatorID: "console"}, challengeOf(body), ceremonyStaffSignIn, "")
	if err != nil {
		return StaffSession{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return StaffSession{}, webauthnError(c, api.CodeAssertionRejected, "The passkey's answer was refused", err)
	}
	var pk store.StaffPasskey
	var who staffUser
	cred, err := rp.ValidateDiscoverableLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
		k, err := s.st.GetStaffPasskeyByCredential(ctx, rawID)
		if err != nil {
			return nil, err
		}
		u, live, err := s.loadStaffUser(ctx, k.StaffID)
		if err != nil {
			return nil, err
		}
		if _, ok := live[string(rawID)]; !ok || string(u.st.UserHandle) != string(userHandle) {
			return nil, errors.New("revoked passkey or another person's handle")
		}
		pk, who = k, u
		return u, nil
	}, sd, parsed)
	if err != nil {
		if pk.ID == "" {
			return StaffSession{}, s.refuse(ctx, c, api.ActionStaffSignIn, "", "unknownPasskey", errStaffSignIn, nil)
		}
		return StaffSession{}, webauthnError(c, api.CodeAssertionRejected, "The passkey's answer was refused", err)
	}
	ss := StaffSession{StaffID: who.st.ID, Name: who.st.Name, Role: who.st.Role}
	ss.Caller(c)
	err = s.inStore(ctx, func(un unit) error {
		if err := un.st.RecordStaffPasskeyUse(ctx, pk.ID, cred.Authenticator.SignCount, cred.Flags.BackupState, ms(s.now())); err != nil {
			return err
		}
		return s.openStaffSession(ctx, c, un, &ss, pk.ID)
	})
	return ss, err
}

var errNoStaffSession = api.E(api.CodeInvalidSession, "Sign in to the console.")

// StaffBySession finds the signed-in staff member of a cookie's token,
// ending the session when it has been idle too long or lived its 8
// hours, and otherwise noting it was used now.
func (s *Service) StaffBySession(ctx context.Context, token string) (StaffSession, error) {
	if token == "" {
		return StaffSession{}, errNoStaffSession
	}
	ses, err := s.st.GetStaffSession(ctx, HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return StaffSession{}, errNoStaffSession
	}
	if err != nil {
		return StaffSession{}, err
	}
	now := s.now()
	if !now.Before(ses.ExpiresAt) || !now.Before(ses.LastSeenAt.Add(StaffSessionIdle)) {
		if err := s.st.DeleteStaffSession(ctx, ses.ID); err != nil {
			return StaffSession{}, err
		}
		return StaffSession{}, api.E(api.CodeSessionExpired, "Your console session has ended; sign in again.")
	}
	st, err := s.st.GetStaff(ctx, ses.StaffID)
	if err != nil {
		return StaffSession{}, err
	}
	if err := s.st.TouchStaffSession(ctx, ses.ID, ms(now)); err != nil && !errors.Is(err, store.ErrNotFound) {
		return StaffSession{}, err
	}
	return StaffSession{SessionID: ses.ID, StaffID: st.ID, Name: st.Name, Role: st.Role}, nil
}

// EndStaffSession signs the staff member out.
func (s *Service) EndStaffSession(ctx context.Context, c *Caller, ss StaffSession) error {
	return s.inStore(ctx, func(un unit) error {
		if err := un.st.DeleteStaffSession(ctx, ss.SessionID); err != nil {
			return err
		}
		return s.done(ctx, c, un, api.ActionStaffSignOut, ss.Name, map[string]string{"sessionId": ss.SessionID})
	})
}

// ListStaff lists the staff with their passkeys, for an administrator.
func (s *Service) ListStaff(ctx context.Context, c *Caller) ([]StaffMember, error) {
	if err := s.Authorize(ctx, c, PermTokens); err != nil {
		return nil, err
	}
	all, err := s.st.ListStaff(ctx)
	if err != nil {
		return nil, err
	}
	out := []StaffMember{}
	for _, st := range all {
		keys, err := s.st.ListStaffPasskeys(ctx, st.ID)
		if err != nil {
			return nil, err
		}
		m := StaffMember{ID: st.ID, Name: st.Name, Role: st.Role}
		for _, k := range keys {
			m.Passkeys = append(m.Passkeys, passkeyOut(k))
		}
		out = append(out, m)
	}
	return out, nil
}

// RevokeStaffPasskey revokes a staff passkey; the sessions it opened end.
func (s *Service) RevokeStaffPasskey(ctx context.Context, c *Caller, id string) error {
	if err := s.Authorize(ctx, c, PermTokens); err != nil {
		return err
	}
	err := s.inStore(ctx, func(un unit) error {
		if err := un.st.RevokeStaffPasskey(ctx, id, ms(s.now())); err != nil {
			return err
		}
		return s.done(ctx, c, un, api.ActionRevokeStaffPasskey, "", map[string]string{"passkeyId": id})
	})
	if errors.Is(err, store.ErrNotFound) {
		return api.NotFound("No live passkey with id %q.", id)
	}
	return err
}

func aaguidText(b []byte) string {
	u, err := uuid.FromBytes(b)
	if err != nil {
		return ""
	}
	return u.String()
}
