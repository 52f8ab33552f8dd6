package recovery

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// Ceremony kinds.
const (
	ceremonyRegistration = "registration"
	ceremonyAssertion    = "assertion"
)

// keyOwner is whom a ceremony is for and who drives it: a kiosk session
// for its own person, or an operator (an admin token) staging a key for
// someone. A ceremony is finished only by the owner that began it.
type keyOwner struct {
	upn        string
	sessionID  string
	operatorID string
	// stagedBy names the operator on the key's record.
	stagedBy string
}

func sessionOwner(c *Caller) keyOwner { return keyOwner{upn: c.Session.UPN, sessionID: c.Session.ID} }

func operatorOwner(c *Caller, upn string) keyOwner {
	return keyOwner{upn: upn, operatorID: c.Admin.ID, stagedBy: c.Admin.Name}
}

// saveCeremony keeps go-webauthn's session data until the response comes
// back, keyed by the challenge.
func (s *Service) saveCeremony(ctx context.Context, st store.Store, o keyOwner, kind, methodID string, sd *webauthn.SessionData) (time.Time, error) {
	data, err := json.Marshal(sd)
	if err != nil {
		return time.Time{}, err
	}
	exp := ms(s.now().Add(s.cfg.CeremonyTimeout))
	c := store.Ceremony{ID: sd.Challenge, SessionID: o.sessionID, Kind: kind, MethodID: methodID, Data: data, ExpiresAt: exp}
	if o.operatorID != "" {
		c.OperatorID, c.UPN = o.operatorID, tap.UPNKey(o.upn)
	}
	return exp, st.CreateCeremony(ctx, c)
}

// takeCeremony consumes the ceremony a response names. The challenge is
// used up whatever happens next: replayed, expired and foreign challenges
// all get a clear 400 and cannot be tried again.
func (s *Service) takeCeremony(ctx context.Context, o keyOwner, challenge, kind, methodID string) (webauthn.SessionData, error) {
	var sd webauthn.SessionData
	cer, err := s.st.TakeCeremony(ctx, challenge)
	if errors.Is(err, store.ErrNotFound) {
		return sd, api.E(api.CodeChallengeInvalid, "This answer does not match a challenge that is waiting: it was already used, or was never issued here. Start again.")
	}
	if err != nil {
		return sd, err
	}
	foreign := cer.SessionID != o.sessionID || cer.OperatorID != o.operatorID || (o.operatorID != "" && cer.UPN != tap.UPNKey(o.upn))
	if foreign || cer.Kind != kind || cer.MethodID != methodID {
		return sd, api.E(api.CodeChallengeInvalid, "This answer belongs to another sign-in, another person or another step. Start again.")
	}
	if !s.now().Before(cer.ExpiresAt) {
		return sd, api.E(api.CodeChallengeExpired, "The challenge expired before the key answered. Start again.")
	}
	return sd, json.Unmarshal(cer.Data, &sd)
}

// challengeOf reads the challenge from a response's clientDataJSON alone,
// so the ceremony is consumed even when the rest of the response (say, the
// attestation CBOR) is garbage. An unreadable one gives "", which matches
// no ceremony.
func challengeOf(raw json.RawMessage) string {
	var r struct {
		Response struct {
			ClientDataJSON string `json:"clientDataJSON"`
		} `json:"response"`
	}
	if json.Unmarshal(raw, &r) != nil {
		return ""
	}
	cd, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(r.Response.ClientDataJSON, "="))
	if err != nil {
		return ""
	}
	var d struct {
		Challenge string `json:"challenge"`
	}
	if json.Unmarshal(cd, &d) != nil {
		return ""
	}
	return d.Challenge
}

// webauthnError turns go-webauthn's refusal into a client-safe 400; its
// developer detail goes to the log.
func webauthnError(c *Caller, code api.Code, prefix string, err error) error {
	var pe *protocol.Error
	detail := "the answer could not be verified"
	if errors.As(err, &pe) {
		detail = pe.Details
		c.Log.Info("webauthn refused", "type", pe.Type, "details", pe.Details, "dev_info", pe.DevInfo)
	} else {
		c.Log.Info("webauthn refused", "err", err)
	}
	return api.E(code, "%s: %s.", prefix, strings.TrimRight(detail, "."))
}

// CreationOptions begins a key registration for the signed-in person,
// in the directory, right when the kiosk is ready for the touch.
func (s *Service) CreationOptions(ctx context.Context, c *Caller) (api.CreationOptions, error) {
	return s.creationOptions(ctx, c, sessionOwner(c), nil)
}

// creationOptions begins a registration for o. hold, when set, runs in
// the transaction that saves the ceremony, with the ceremony's id and the
// end of the options' challenge, and may refuse it (a staging row's
// lease): a refused ceremony is not kept.
func (s *Service) creationOptions(ctx context.Context, c *Caller, o keyOwner, hold func(st store.Store, ceremonyID string, until time.Time) error) (api.CreationOptions, error) {
	reg, err := s.dir.BeginRegistration(ctx, o.upn)
	if err != nil {
		return api.CreationOptions{}, s.failed(ctx, c, api.ActionRegisterFIDO2, tap.UPNKey(o.upn), err, nil)
	}
	var exp time.Time
	save := func(st store.Store) error {
		var err error
		if exp, err = s.saveCeremony(ctx, st, o, ceremonyRegistration, "", &reg.Session); err != nil {
			return err
		}
		switch {
		case reg.Expires.IsZero():
			reg.Options.Timeout = int(s.cfg.CeremonyTimeout / time.Millisecond)
		case reg.Expires.Before(exp):
			// The directory's own deadline is the earlier one.
			exp = reg.Expires
		}
		if hold == nil {
			return nil
		}
		return hold(st, reg.Session.Challenge, exp)
	}
	if hold == nil {
		err = save(s.st)
	} else {
		err = s.st.Atomically(ctx, save)
	}
	if err != nil {
		return api.CreationOptions{}, err
	}
	return api.CreationOptions{ChallengeTimeoutDateTime: exp, PublicKey: reg.Options}, nil
}

// Register finishes a registration: tapd verifies the key's answer with
// go-webauthn against the ceremony it kept, judges the key against the
// FIDO2 policy, names it, and has the directory keep it.
func (s *Service) Register(ctx context.Context, c *Caller, req api.RegisterFIDO2Request) (api.FIDO2Method, error) {
	m, err := s.register(ctx, c, sessionOwner(c), req, nil, nil)
	return fido2Out(m), err
}

// staged is what a registration with a staging row adds to register.
type staged struct {
	// claim takes the row for this ceremony's write, just before the
	// directory write, or refuses; it says how long the write may run.
	claim func(ctx context.Context, challenge string) (time.Duration, error)
	// keep runs in the unit that keeps the key (one transaction when the
	// directory is the store) and may refuse it.
	keep func(u unit, m store.Method, audit map[string]string) error
	// release gives the row back when the write did not happen.
	release func(ctx context.Context, challenge string)
}

// outcomeUnknown tells a directory write that may have happened (the
// line went quiet) from one that surely did not.
func outcomeUnknown(err error) bool {
	var f *directory.Failed
	return errors.As(err, &f) && f.Result == store.AuditUnknown
}

// register is Register for any owner. details are audited with the
// outcome; row, when set, is the staging row the key is for.
func (s *Service) register(ctx context.Context, c *Caller, o keyOwner, req api.RegisterFIDO2Request, details map[string]string, row *staged) (store.Method, error) {
	if len(req.PublicKeyCredential) == 0 {
		return store.Method{}, api.Invalid("publicKeyCredential", "publicKeyCredential is required.")
	}
	target := tap.UPNKey(o.upn)
	if details == nil {
		details = map[string]string{}
	}
	refuse := func(reason string, err error) (store.Method, error) {
		return store.Method{}, s.refuse(ctx, c, api.ActionRegisterFIDO2, target, reason, err, details)
	}
	challenge := challengeOf(req.PublicKeyCredential)
	sd, err := s.takeCeremony(ctx, o, challenge, ceremonyRegistration, "")
	var ae *api.Error
	if errors.As(err, &ae) {
		return refuse(string(ae.Code), err)
	}
	if err != nil {
		return store.Method{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(req.PublicKeyCredential)
	if err != nil {
		return refuse("malformedResponse", webauthnError(c, api.CodeRegistrationRejected, "The key's answer could not be read", err))
	}
	// The ceremony names the user handle: tapd's own, or the directory's.
	cred, err := s.rp.CreateCredential(&directory.KeyHolder{Handle: sd.UserID, User: store.User{UPN: o.upn}}, sd, parsed)
	if err != nil {
		return refuse("verificationFailed", webauthnError(c, api.CodeRegistrationRejected, "The registration was refused", err))
	}
	aaguid, _ := uuid.FromBytes(cred.Authenticator.AAGUID)
	details["aaGuid"], details["format"] = aaguid.String(), cred.AttestationFormat
	details["credentialId"] = base64.RawURLEncoding.EncodeToString(cred.ID)

	pol, err := s.dir.FIDO2Policy(ctx, o.upn)
	if err != nil {
		return store.Method{}, err
	}
	level, reason, err := s.judgeKey(pol, aaguid, cred.AttestationFormat, x5c(parsed.Response.AttestationObject.AttStatement), cred.Flags.BackupEligible, details)
	if err != nil {
		return refuse(reason, err)
	}
	details["attestationLevel"] = level

	model := s.cfg.Trust.Model(aaguid)
	if model == "" {
		model = cleanModel(req.KeyModel)
	}
	name := strings.TrimSpace(req.DisplayName)
	if name == "" {
		name = tap.DefaultKeyName(model, s.now())
	}
	if err := badName("displayName", name); err != nil {
		return refuse("invalidDisplayName", err)
	}
	if model == "" {
		model = tap.GenericKeyModel
	}
	m := store.Method{ID: uuid.NewString(), UPN: o.upn, Kind: directory.KindFIDO2, DisplayName: name, CreatedAt: ms(s.now()),
		CredentialID: cred.ID, PublicKey: cred.PublicKey, AAGUID: aaguid.String(), Model: model, AttestationFormat: cred.AttestationFormat,
		AttestationLevel: level, SignCount: cred.Authenticator.SignCount, UserVerified: cred.Flags.UserVerified,
		BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState, SessionID: o.sessionID, StagedBy: o.stagedBy,
		RPID: sd.RelyingPartyID, UserHandle: sd.UserID}
	// A staging row is claimed last, so that nothing but the write itself
	// runs while the row is held, and the write is cut off when the claim
	// ends: the claim outlives it.
	wctx := ctx
	if row != nil {
		window, err := row.claim(ctx, challenge)
		if errors.As(err, &ae) {
			return refuse(string(ae.Code), err)
		}
		if err != nil {
			return store.Method{}, err
		}
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, window)
		defer cancel()
	}
	err = s.inDirectory(ctx, func(u unit) error {
		kept, t, err := u.dir.AddKey(wctx, directory.NewKey{Method: m, Credential: req.PublicKeyCredential})
		if err != nil {
			return err
		}
		m = kept
		ok := merge(maps.Clone(details), t)
		ok["methodId"] = m.ID
		if row != nil {
			if err := row.keep(u, m, ok); err != nil {
				return err
			}
		}
		return s.done(ctx, c, u, api.ActionRegisterFIDO2, target, ok)
	})
	if err != nil {
		// A write that may have reached the directory keeps its row until
		// the claim ends, so nobody adds a second key meanwhile.
		if row != nil && !outcomeUnknown(err) {
			row.release(context.WithoutCancel(ctx), challenge)
		}
		return store.Method{}, s.failed(ctx, c, api.ActionRegisterFIDO2, target, err, details)
	}
	return m, nil
}

// judgeKey applies the key policy: the AAGUID allow or block list, the
// attestation formats the directory accepts, and, where tapd judges
// attestation, its trust roots. With passkey profiles the key must pass
// one of the person's profiles (its passkey types, its key restrictions,
// its attestation), and the audit names which. It returns the attestation
// level, or the audit reason and error of a refusal.
func (s *Service) judgeKey(pol directory.FIDO2Policy, aaguid uuid.UUID, format string, chain [][]byte, synced bool, details map[string]string) (string, string, error) {
	restricted := api.E(api.CodeKeyRestricted, "Your organisation does not allow this model of security key. Ask IT which keys you can use.")
	rules := rulesOf(pol)
	if pol.ProfilesInUse && len(rules) == 0 {
		return "", "notInPasskeyProfile", api.E(api.CodeKeyRestricted,
			"Your organisation's passkey (FIDO2) policy has no passkey profile for you, so you cannot register a security key here. Ask IT.")
	}
	var fit []keyRule
	for _, r := range rules {
		if r.takes(aaguid, synced) {
			fit = append(fit, r)
		}
	}
	if len(fit) == 0 {
		return "", "keyRestricted", restricted
	}
	if pol.AcceptedFormats != nil && !slices.Contains(pol.AcceptedFormats, format) {
		return "", "attestationFormat", api.E(api.CodeRegistrationRejected,
			"This key answers with %s attestation, and the directory accepts only %s. Try another key, or ask IT.", format, strings.Join(pol.AcceptedFormats, " or "))
	}
	level := "notAttested"
	root, terr := s.cfg.Trust.Verify(aaguid, chain, s.now())
	if terr == nil {
		level = "attested"
		details["attestationRoot"] = root
	}
	for _, r := range fit {
		if !r.attestation || terr == nil || pol.JudgesAttestation {
			if r.profile != "" {
				details["passkeyProfile"] = r.profile
			}
			return level, "", nil
		}
	}
	details["why"] = terr.Error()
	return "", "attestationNotTrusted", api.E(api.CodeAttestationNotTrusted,
		"Your organisation only accepts security keys whose maker can be verified, and this key's cannot. Ask IT which keys you can use.")
}

// keyRule is one set of rules a key may pass: the legacy policy, or one
// passkey profile (named).
type keyRule struct {
	profile     string
	attestation bool
	kr          directory.KeyRestrictions
	types       []string // nil: any kind of passkey
}

func rulesOf(pol directory.FIDO2Policy) []keyRule {
	if !pol.ProfilesInUse {
		return []keyRule{{attestation: pol.IsAttestationEnforced, kr: pol.KeyRestrictions}}
	}
	var out []keyRule
	for _, p := range pol.Profiles {
		name := p.Name
		if name == "" {
			name = p.ID
		}
		out = append(out, keyRule{profile: name, attestation: p.AttestationEnforcement == "registrationOnly", kr: p.KeyRestrictions, types: p.PasskeyTypes})
	}
	return out
}

// takes says whether the rule allows this model and kind of passkey: a
// security key is device-bound; one that says it may be backed up
// (backup eligible) is a synced passkey.
func (r keyRule) takes(aaguid uuid.UUID, synced bool) bool {
	kind := "deviceBound"
	if synced {
		kind = "synced"
	}
	if r.types != nil && !slices.Contains(r.types, kind) {
		return false
	}
	return r.kr.Allows(aaguid.String())
}

// x5c returns the attestation certificate chain from a statement.
func x5c(stmt map[string]any) [][]byte {
	raw, _ := stmt["x5c"].([]any)
	var out [][]byte
	for _, r := range raw {
		if b, ok := r.([]byte); ok {
			out = append(out, b)
		}
	}
	return out
}

// cleanModel makes a key-reported product name safe to store and show.
func cleanModel(s string) string {
	s = strings.TrimSpace(s)
	if tap.ValidName(s) != nil {
		return ""
	}
	return s
}

func fido2Out(m store.Method) api.FIDO2Method {
	return api.FIDO2Method{ID: m.ID, DisplayName: m.DisplayName, AAGUID: m.AAGUID, Model: m.Model,
		AttestationLevel: m.AttestationLevel, CreatedDateTime: m.CreatedAt, LastUsedDateTime: m.LastUsedAt}
}

func credentialOf(m store.Method) webauthn.Credential {
	aaguid, _ := uuid.Parse(m.AAGUID)
	return webauthn.Credential{ID: m.CredentialID, PublicKey: m.PublicKey, AttestationType: m.AttestationFormat,
		Flags:         webauthn.CredentialFlags{UserPresent: true, UserVerified: m.UserVerified, BackupEligible: m.BackupEligible, BackupState: m.BackupState},
		Authenticator: webauthn.Authenticator{AAGUID: aaguid[:], SignCount: m.SignCount}}
}

// sessionKey loads the signed-in person's key record named id, with the
// relying party and user handle it was made for. Keys recorded before
// tapd kept those were made for tapd's own relying party.
func (s *Service) sessionKey(ctx context.Context, c *Caller, id string) (store.Method, *directory.KeyHolder, error) {
	m, err := s.st.GetMethod(ctx, c.Session.UPN, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && m.Kind != directory.KindFIDO2) {
		return m, nil, api.NotFound("You have no security key with that id.")
	}
	if err != nil {
		return m, nil, err
	}
	u, err := s.st.GetUser(ctx, c.Session.UPN)
	if err != nil {
		return m, nil, err
	}
	h := m.UserHandle
	if m.RPID == "" {
		if h, err = directory.UserHandle(ctx, s.st, u.UPN); err != nil {
			return m, nil, err
		}
	}
	return m, &directory.KeyHolder{Handle: h, User: u, Creds: []webauthn.Credential{credentialOf(m)}}, nil
}

// AssertionOptions begins the key check of one of the person's keys.
func (s *Service) AssertionOptions(ctx context.Context, c *Caller, id string) (api.AssertionOptions, error) {
	m, w, err := s.sessionKey(ctx, c, id)
	if err != nil {
		return api.AssertionOptions{}, err
	}
	assertion, sd, err := s.rp.BeginLogin(w,
		webauthn.WithAllowedCredentials([]protocol.CredentialDescriptor{{Type: protocol.PublicKeyCredentialType, CredentialID: m.CredentialID}}),
		webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return api.AssertionOptions{}, err
	}
	if m.RPID != "" {
		// The relying party the key was made for, and its origin.
		assertion.Response.RelyingPartyID, sd.RelyingPartyID, sd.Origin = m.RPID, m.RPID, "https://"+m.RPID
	}
	exp, err := s.saveCeremony(ctx, s.st, sessionOwner(c), ceremonyAssertion, m.ID, sd)
	if err != nil {
		return api.AssertionOptions{}, err
	}
	assertion.Response.Timeout = int(s.cfg.CeremonyTimeout / time.Millisecond)
	return api.AssertionOptions{ChallengeTimeoutDateTime: exp, PublicKey: assertion.Response}, nil
}

// CheckKey verifies the key's answer to the check.
func (s *Service) CheckKey(ctx context.Context, c *Caller, id string, req api.AssertionRequest) (api.KeyCheck, error) {
	m, w, err := s.sessionKey(ctx, c, id)
	if err != nil {
		return api.KeyCheck{}, err
	}
	target := tap.UPNKey(c.Session.UPN)
	details := map[string]string{"methodId": m.ID, "aaGuid": m.AAGUID}
	refuse := func(reason string, err error) (api.KeyCheck, error) {
		return api.KeyCheck{}, s.refuse(ctx, c, api.ActionCheckKey, target, reason, err, details)
	}
	sd, err := s.takeCeremony(ctx, sessionOwner(c), challengeOf(req.PublicKeyCredential), ceremonyAssertion, m.ID)
	var ae *api.Error
	if errors.As(err, &ae) {
		return refuse(string(ae.Code), err)
	}
	if err != nil {
		return api.KeyCheck{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(req.PublicKeyCredential)
	if err != nil {
		return refuse("malformedResponse", webauthnError(c, api.CodeAssertionRejected, "The key's answer could not be read", err))
	}
	cred, err := s.rp.ValidateLogin(w, sd, parsed)
	if err != nil {
		return refuse("verificationFailed", webauthnError(c, api.CodeAssertionRejected, "The key check failed", err))
	}
	details["signCount"] = fmt.Sprint(cred.Authenticator.SignCount)
	if cred.Authenticator.CloneWarning {
		details["cloneWarning"] = "true"
	}
	if err := s.inStore(ctx, func(u unit) error {
		if err := u.st.RecordMethodUse(ctx, m.ID, cred.Authenticator.SignCount, cred.Flags.BackupState, s.now().UTC()); err != nil {
			return err
		}
		return s.done(ctx, c, u, api.ActionCheckKey, target, details)
	}); err != nil {
		return api.KeyCheck{}, err
	}
	return api.KeyCheck{ID: m.ID, Verified: true, UserVerified: parsed.Response.AuthenticatorData.Flags.HasUserVerified(),
		SignCount: cred.Authenticator.SignCount}, nil
}
