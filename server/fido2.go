package server

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

// newRelyingParty is tapd's WebAuthn relying party for the local
// directory. The origin is always https:// + rp id, as with Microsoft
// Graph, so one kiosk code path serves both directories.
func newRelyingParty(rpID, rpName string) (*webauthn.WebAuthn, error) {
	rk := true
	return webauthn.New(&webauthn.Config{
		RPID: rpID, RPDisplayName: rpName, RPOrigins: []string{"https://" + rpID},
		AttestationPreference: protocol.PreferDirectAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			AuthenticatorAttachment: protocol.CrossPlatform, RequireResidentKey: &rk,
			ResidentKey: protocol.ResidentKeyRequirementRequired, UserVerification: protocol.VerificationRequired},
	})
}

// waUser adapts a user and their keys to go-webauthn.
type waUser struct {
	handle []byte
	u      store.User
	creds  []webauthn.Credential
}

func (w *waUser) WebAuthnID() []byte                         { return w.handle }
func (w *waUser) WebAuthnName() string                       { return w.u.UPN }
func (w *waUser) WebAuthnDisplayName() string                { return w.u.DisplayName }
func (w *waUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }

func credentialOf(m store.Method) webauthn.Credential {
	aaguid, _ := uuid.Parse(m.AAGUID)
	return webauthn.Credential{ID: m.CredentialID, PublicKey: m.PublicKey, AttestationType: m.AttestationFormat,
		Flags:         webauthn.CredentialFlags{UserPresent: true, UserVerified: m.UserVerified, BackupEligible: m.BackupEligible, BackupState: m.BackupState},
		Authenticator: webauthn.Authenticator{AAGUID: aaguid[:], SignCount: m.SignCount}}
}

// sessionUser loads the signed-in person with their FIDO2 keys and their
// stable user handle (random, never the UPN).
func (s *Server) sessionUser(c *call) (*waUser, error) {
	ctx := c.r.Context()
	u, err := s.store.GetUser(ctx, c.session.UPN)
	if err != nil {
		return nil, err
	}
	cand := make([]byte, 32)
	rand.Read(cand)
	h, err := s.store.UserHandle(ctx, u.UPN, cand)
	if err != nil {
		return nil, err
	}
	ms, err := s.store.ListMethods(ctx, u.UPN)
	if err != nil {
		return nil, err
	}
	w := &waUser{handle: h, u: u}
	for _, m := range ms {
		if m.Kind == "fido2" {
			w.creds = append(w.creds, credentialOf(m))
		}
	}
	return w, nil
}

// saveCeremony keeps go-webauthn's session data until the response comes
// back, keyed by the challenge.
func (s *Server) saveCeremony(c *call, kind, methodID string, sd *webauthn.SessionData) (time.Time, error) {
	data, err := json.Marshal(sd)
	if err != nil {
		return time.Time{}, err
	}
	exp := s.now().Add(s.cfg.CeremonyTimeout).UTC().Truncate(time.Millisecond)
	return exp, s.store.CreateCeremony(c.r.Context(), store.Ceremony{ID: sd.Challenge, SessionID: c.session.ID, Kind: kind,
		MethodID: methodID, Data: data, ExpiresAt: exp})
}

// takeCeremony consumes the ceremony a response names. The challenge is
// used up whatever happens next: replayed, expired and foreign challenges
// all get a clear 400 and cannot be tried again.
func (s *Server) takeCeremony(c *call, challenge, kind, methodID string) (webauthn.SessionData, error) {
	var sd webauthn.SessionData
	cer, err := s.store.TakeCeremony(c.r.Context(), challenge)
	if errors.Is(err, store.ErrNotFound) {
		return sd, api.Errf(http.StatusBadRequest, api.CodeChallengeInvalid, "This answer does not match a challenge that is waiting: it was already used, or was never issued here. Start again.")
	}
	if err != nil {
		return sd, err
	}
	if cer.SessionID != c.session.ID || cer.Kind != kind || cer.MethodID != methodID {
		return sd, api.Errf(http.StatusBadRequest, api.CodeChallengeInvalid, "This answer belongs to another sign-in or another step. Start again.")
	}
	if !s.now().Before(cer.ExpiresAt) {
		return sd, api.Errf(http.StatusBadRequest, api.CodeChallengeExpired, "The challenge expired before the key answered. Start again.")
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

func (s *Server) creationOptions(c *call) error {
	if s.entra() {
		return s.entraCreationOptions(c)
	}
	w, err := s.sessionUser(c)
	if err != nil {
		return err
	}
	var exclude []protocol.CredentialDescriptor
	for _, cr := range w.creds {
		exclude = append(exclude, protocol.CredentialDescriptor{Type: protocol.PublicKeyCredentialType, CredentialID: cr.ID})
	}
	creation, sd, err := s.rp.BeginRegistration(w,
		webauthn.WithExclusions(exclude),
		webauthn.WithConveyancePreference(protocol.PreferDirectAttestation),
		webauthn.WithCredentialParameters([]protocol.CredentialParameter{
			{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256},
			{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgEdDSA},
			{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgRS256},
		}))
	if err != nil {
		return err
	}
	exp, err := s.saveCeremony(c, "registration", "", sd)
	if err != nil {
		return err
	}
	creation.Response.Timeout = int(s.cfg.CeremonyTimeout / time.Millisecond)
	return c.writeJSON(http.StatusCreated, api.CreationOptions{ChallengeTimeoutDateTime: exp, PublicKey: creation.Response})
}

// webauthnError turns go-webauthn's refusal into a client-safe 400; its
// developer detail goes to the log.
func webauthnError(c *call, code string, prefix string, err error) error {
	var pe *protocol.Error
	detail := "the answer could not be verified"
	if errors.As(err, &pe) {
		detail = pe.Details
		c.log.Info("webauthn refused", "type", pe.Type, "details", pe.Details, "dev_info", pe.DevInfo)
	} else {
		c.log.Info("webauthn refused", "err", err)
	}
	return api.Errf(http.StatusBadRequest, code, "%s: %s.", prefix, strings.TrimRight(detail, "."))
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
	if tap.ValidDisplayName(s) != nil || utf8.RuneCountInString(s) > 64 {
		return ""
	}
	return s
}

func (s *Server) registerFIDO2(c *call) error {
	var req api.RegisterFIDO2Request
	if err := s.decode(c, &req); err != nil {
		return err
	}
	if len(req.PublicKeyCredential) == 0 {
		e := api.Errf(http.StatusBadRequest, api.CodeInvalidValue, "publicKeyCredential is required.")
		e.Target = "publicKeyCredential"
		return e
	}
	target := tap.UPNKey(c.session.UPN)
	refuse := func(reason string, err error, details map[string]string) error {
		s.audit(c, api.ActionRegisterFIDO2, target, "failure", reason, details)
		return err
	}
	sd, err := s.takeCeremony(c, challengeOf(req.PublicKeyCredential), "registration", "")
	if err != nil {
		var ae *api.Error
		if errors.As(err, &ae) {
			return refuse(ae.Code, err, nil)
		}
		return err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(req.PublicKeyCredential)
	if err != nil {
		return refuse("malformedResponse", webauthnError(c, api.CodeRegistrationRejected, "The key's answer could not be read", err), nil)
	}
	w, err := s.ceremonyUser(c, sd)
	if err != nil {
		return err
	}
	cred, err := s.rp.CreateCredential(w, sd, parsed)
	if err != nil {
		return refuse("verificationFailed", webauthnError(c, api.CodeRegistrationRejected, "The registration was refused", err), nil)
	}
	aaguid, _ := uuid.FromBytes(cred.Authenticator.AAGUID)
	details := map[string]string{"aaGuid": aaguid.String(), "format": cred.AttestationFormat,
		"credentialId": base64.RawURLEncoding.EncodeToString(cred.ID)}

	pol, err := s.loadFIDO2Policy(c)
	if err != nil {
		return err
	}
	if kr := pol.KeyRestrictions; kr.IsEnforced {
		listed := slices.Contains(kr.AAGUIDs, aaguid.String())
		if (kr.EnforcementType == "allow") != listed {
			return refuse("keyRestricted", api.Errf(http.StatusForbidden, api.CodeKeyRestricted,
				"Your organisation does not allow this model of security key. Ask IT which keys you can use."), details)
		}
	}
	if f := cred.AttestationFormat; s.entra() && f != "packed" && f != "none" {
		return refuse("attestationFormat", api.Errf(http.StatusBadRequest, api.CodeRegistrationRejected,
			"This key answers with %s attestation, and Microsoft Entra ID accepts only packed or none. Try another key, or ask IT.", f), details)
	}
	level := "notAttested"
	root, terr := s.cfg.Trust.Verify(aaguid, x5c(parsed.Response.AttestationObject.AttStatement), s.now())
	if terr == nil {
		level = "attested"
		details["attestationRoot"] = root
	}
	// In Entra mode Entra judges attestation itself, with its own roots.
	if pol.IsAttestationEnforced && terr != nil && !s.entra() {
		details["why"] = terr.Error()
		return refuse("attestationNotTrusted", api.Errf(http.StatusForbidden, api.CodeAttestationNotTrusted,
			"Your organisation only accepts security keys whose maker can be verified, and this key's cannot. Ask IT which keys you can use."), details)
	}
	details["attestationLevel"] = level

	model := s.cfg.Trust.Model(aaguid)
	if model == "" {
		model = cleanModel(req.KeyModel)
	}
	if model == "" {
		model = "Security key"
	}
	name := strings.TrimSpace(req.DisplayName)
	if name == "" {
		name = model + " " + s.now().Format("2006-01-02")
	}
	if err := tap.ValidDisplayName(name); err != nil || utf8.RuneCountInString(name) > 64 {
		e := api.Errf(http.StatusBadRequest, api.CodeInvalidValue, "displayName must be 1 to 64 characters without control or escape characters.")
		e.Target = "displayName"
		return refuse("invalidDisplayName", e, details)
	}
	m := store.Method{ID: uuid.NewString(), UPN: w.u.UPN, Kind: "fido2", DisplayName: name, CreatedAt: s.now().UTC().Truncate(time.Millisecond),
		CredentialID: cred.ID, PublicKey: cred.PublicKey, AAGUID: aaguid.String(), Model: model, AttestationFormat: cred.AttestationFormat,
		AttestationLevel: level, SignCount: cred.Authenticator.SignCount, UserVerified: cred.Flags.UserVerified,
		BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState, SessionID: c.session.ID}
	if s.entra() {
		m.RPID, m.UserHandle = sd.RelyingPartyID, sd.UserID
		if m, err = s.entraRegister(c, req, m, details); err != nil {
			return err
		}
		details["methodId"] = m.ID
		s.audit(c, api.ActionRegisterFIDO2, target, "success", "", details)
		return c.writeJSON(http.StatusCreated, fido2Out(m))
	}
	err = s.store.CreateMethod(c.r.Context(), m)
	if errors.Is(err, store.ErrAlreadyExists) {
		return refuse("alreadyRegistered", api.Errf(http.StatusConflict, api.CodeAlreadyRegistered,
			"This security key is already registered to an account."), details)
	}
	if err != nil {
		return err
	}
	details["methodId"] = m.ID
	s.audit(c, api.ActionRegisterFIDO2, target, "success", "", details)
	return c.writeJSON(http.StatusCreated, fido2Out(m))
}

func fido2Out(m store.Method) api.FIDO2Method {
	return api.FIDO2Method{ID: m.ID, DisplayName: m.DisplayName, AAGUID: m.AAGUID, Model: m.Model,
		AttestationLevel: m.AttestationLevel, CreatedDateTime: m.CreatedAt, LastUsedDateTime: m.LastUsedAt}
}

// methodsOut lists methods in Graph's style, the pass included.
func (s *Server) methodsOut(c *call, u store.User, sessionID string) ([]api.AuthenticationMethod, error) {
	if s.entra() {
		return s.entraMethods(c, u.UPN, sessionID)
	}
	ctx := c.r.Context()
	ms, err := s.store.ListMethods(ctx, u.UPN)
	if err != nil {
		return nil, err
	}
	out := []api.AuthenticationMethod{}
	for _, m := range ms {
		a := api.AuthenticationMethod{Type: api.MethodType(m.Kind), ID: m.ID, DisplayName: m.DisplayName, CreatedDateTime: m.CreatedAt}
		if m.Kind == "fido2" {
			a.AAGUID, a.Model, a.AttestationLevel, a.LastUsedDateTime = m.AAGUID, m.Model, m.AttestationLevel, m.LastUsedAt
			a.RegisteredThisSession = sessionID != "" && m.SessionID == sessionID
		}
		out = append(out, a)
	}
	p, err := s.store.GetPass(ctx, u.UPN)
	if err == nil {
		pol, err := s.loadPolicy(c)
		if err != nil {
			return nil, err
		}
		po := passOut(p, pol, u, s.now())
		start := po.StartDateTime
		out = append(out, api.AuthenticationMethod{Type: api.TypeTAP, ID: p.ID, CreatedDateTime: p.CreatedAt, StartDateTime: &start,
			LifetimeInMinutes: p.LifetimeMinutes, IsUsableOnce: &po.IsUsableOnce, IsUsable: &po.IsUsable, MethodUsabilityReason: po.MethodUsabilityReason})
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return out, nil
}

func (s *Server) listSessionMethods(c *call) error {
	u, err := s.store.GetUser(c.r.Context(), c.session.UPN)
	if err != nil {
		return err
	}
	out, err := s.methodsOut(c, u, c.session.ID)
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, api.List[api.AuthenticationMethod]{Value: out})
}

func (s *Server) deleteSessionMethod(c *call) error {
	id := c.r.PathValue("id")
	if id == c.session.PassID {
		return api.Errf(http.StatusConflict, api.CodeMethodInUse, "This is the pass you signed in with; delete it with the pass step instead.")
	}
	if s.entra() {
		return s.deleteEntraMethod(c, c.session.UPN, id)
	}
	m, err := s.store.GetMethod(c.r.Context(), c.session.UPN, id)
	if errors.Is(err, store.ErrNotFound) {
		return api.Errf(http.StatusNotFound, api.CodeNotFound, "You have no method with that id.")
	}
	if err != nil {
		return err
	}
	target := tap.UPNKey(c.session.UPN)
	if m.SessionID == c.session.ID {
		s.audit(c, api.ActionDeleteMethod, target, "failure", "registeredThisSession", map[string]string{"methodId": id, "aaGuid": m.AAGUID})
		return api.Errf(http.StatusConflict, api.CodeMethodInUse, "This is the key you registered just now, so it cannot be removed here.")
	}
	return s.removeMethod(c, m, target)
}

func (s *Server) removeMethod(c *call, m store.Method, target string) error {
	if err := s.store.DeleteMethod(c.r.Context(), m.UPN, m.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	s.audit(c, api.ActionDeleteMethod, target, "success", "", map[string]string{"methodId": m.ID, "kind": m.Kind, "aaGuid": m.AAGUID})
	return c.noContent()
}

func (s *Server) listUserMethods(c *call) error {
	u, err := s.pathUser(c)
	if err != nil {
		return err
	}
	out, err := s.methodsOut(c, u, "")
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, api.List[api.AuthenticationMethod]{Value: out})
}

func (s *Server) deleteUserMethod(c *call) error {
	u, err := s.pathUser(c)
	if err != nil {
		return err
	}
	if err := s.canManageUser(c, u); err != nil {
		return err
	}
	if s.entra() {
		return s.deleteEntraMethod(c, u.UPN, c.r.PathValue("id"))
	}
	m, err := s.store.GetMethod(c.r.Context(), u.UPN, c.r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return api.Errf(http.StatusNotFound, api.CodeNotFound, "%s has no method with that id (passes are deleted with `tapctl tap delete`).", u.UPN)
	}
	if err != nil {
		return err
	}
	return s.removeMethod(c, m, tap.UPNKey(u.UPN))
}

// ceremonyUser is the person a registration ceremony was begun for: in
// Entra mode with Entra's user handle, which the ceremony recorded.
func (s *Server) ceremonyUser(c *call, sd webauthn.SessionData) (*waUser, error) {
	if !s.entra() {
		return s.sessionUser(c)
	}
	u, err := s.store.GetUser(c.r.Context(), c.session.UPN)
	return &waUser{handle: sd.UserID, u: u}, err
}

// sessionKey loads the signed-in person's FIDO2 method named in the path.
func (s *Server) sessionKey(c *call) (store.Method, *waUser, error) {
	m, err := s.store.GetMethod(c.r.Context(), c.session.UPN, c.r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && m.Kind != "fido2") {
		return m, nil, api.Errf(http.StatusNotFound, api.CodeNotFound, "You have no security key with that id.")
	}
	if err != nil {
		return m, nil, err
	}
	w, err := s.sessionUser(c)
	if err != nil {
		return m, nil, err
	}
	w.creds = []webauthn.Credential{credentialOf(m)}
	if m.RPID != "" {
		w.handle = m.UserHandle
	}
	return m, w, nil
}

func (s *Server) assertionOptions(c *call) error {
	m, w, err := s.sessionKey(c)
	if err != nil {
		return err
	}
	assertion, sd, err := s.rp.BeginLogin(w,
		webauthn.WithAllowedCredentials([]protocol.CredentialDescriptor{{Type: protocol.PublicKeyCredentialType, CredentialID: m.CredentialID}}),
		webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return err
	}
	if m.RPID != "" {
		// A key registered into Entra: Entra's relying party, and the
		// origin that goes with it.
		assertion.Response.RelyingPartyID, sd.RelyingPartyID, sd.Origin = m.RPID, m.RPID, "https://"+m.RPID
	}
	exp, err := s.saveCeremony(c, "assertion", m.ID, sd)
	if err != nil {
		return err
	}
	assertion.Response.Timeout = int(s.cfg.CeremonyTimeout / time.Millisecond)
	return c.writeJSON(http.StatusCreated, api.AssertionOptions{ChallengeTimeoutDateTime: exp, PublicKey: assertion.Response})
}

func (s *Server) checkKey(c *call) error {
	var req api.AssertionRequest
	if err := s.decode(c, &req); err != nil {
		return err
	}
	m, w, err := s.sessionKey(c)
	if err != nil {
		return err
	}
	target := tap.UPNKey(c.session.UPN)
	details := map[string]string{"methodId": m.ID, "aaGuid": m.AAGUID}
	refuse := func(reason string, err error) error {
		s.audit(c, api.ActionCheckKey, target, "failure", reason, details)
		return err
	}
	sd, err := s.takeCeremony(c, challengeOf(req.PublicKeyCredential), "assertion", m.ID)
	if err != nil {
		var ae *api.Error
		if errors.As(err, &ae) {
			return refuse(ae.Code, err)
		}
		return err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(req.PublicKeyCredential)
	if err != nil {
		return refuse("malformedResponse", webauthnError(c, api.CodeAssertionRejected, "The key's answer could not be read", err))
	}
	cred, err := s.rp.ValidateLogin(w, sd, parsed)
	if err != nil {
		return refuse("verificationFailed", webauthnError(c, api.CodeAssertionRejected, "The key check failed", err))
	}
	if err := s.store.RecordMethodUse(c.r.Context(), m.ID, cred.Authenticator.SignCount, cred.Flags.BackupState, s.now().UTC()); err != nil {
		return err
	}
	details["signCount"] = fmt.Sprint(cred.Authenticator.SignCount)
	if cred.Authenticator.CloneWarning {
		details["cloneWarning"] = "true"
	}
	s.audit(c, api.ActionCheckKey, target, "success", "", details)
	return c.writeJSON(http.StatusOK, api.KeyCheck{ID: m.ID, Verified: true, UserVerified: parsed.Response.AuthenticatorData.Flags.HasUserVerified(),
		SignCount: cred.Authenticator.SignCount})
}

// ---- FIDO2 policy ----

func defaultFIDO2Policy() api.FIDO2Policy {
	return api.FIDO2Policy{KeyRestrictions: api.KeyRestrictions{EnforcementType: "block", AAGUIDs: []string{}}}
}

func (s *Server) loadFIDO2Policy(c *call) (api.FIDO2Policy, error) {
	if s.entra() {
		return s.entraFIDO2Policy(c)
	}
	p, err := s.store.GetFIDO2Policy(c.r.Context())
	if errors.Is(err, store.ErrNotFound) {
		return defaultFIDO2Policy(), nil
	}
	if err != nil {
		return defaultFIDO2Policy(), err
	}
	return fido2PolicyFromStore(p), nil
}

func (s *Server) fido2PolicyOut(p api.FIDO2Policy) api.FIDO2Policy {
	if s.entra() {
		return p
	}
	p.TrustedRootSources = s.cfg.Trust.Sources()
	if p.TrustedRootSources == nil {
		p.TrustedRootSources = []string{}
	}
	return p
}

func (s *Server) getFIDO2Policy(c *call) error {
	p, err := s.loadFIDO2Policy(c)
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, s.fido2PolicyOut(p))
}

func (s *Server) patchFIDO2Policy(c *call) error {
	var patch api.FIDO2PolicyPatch
	if err := s.decode(c, &patch); err != nil {
		return err
	}
	p, err := s.loadFIDO2Policy(c)
	if err != nil {
		return err
	}
	if patch.IsAttestationEnforced != nil {
		p.IsAttestationEnforced = *patch.IsAttestationEnforced
	}
	if kr := patch.KeyRestrictions; kr != nil {
		bad := func(field, msg string) error {
			e := api.Errf(http.StatusBadRequest, api.CodeInvalidValue, "keyRestrictions.%s %s.", field, msg)
			e.Target = "keyRestrictions." + field
			return e
		}
		if kr.EnforcementType != "allow" && kr.EnforcementType != "block" {
			return bad("enforcementType", `must be "allow" or "block"`)
		}
		if len(kr.AAGUIDs) > 500 {
			return bad("aaGuids", "has more than 500 entries")
		}
		ids := []string{}
		for _, a := range kr.AAGUIDs {
			u, err := uuid.Parse(strings.TrimSpace(a))
			if err != nil {
				return bad("aaGuids", fmt.Sprintf("holds %q, which is not an AAGUID (like cb69481e-8ff7-4039-93ec-0a2729a154a8)", a))
			}
			if !slices.Contains(ids, u.String()) {
				ids = append(ids, u.String())
			}
		}
		p.KeyRestrictions = api.KeyRestrictions{IsEnforced: kr.IsEnforced, EnforcementType: kr.EnforcementType, AAGUIDs: ids}
	}
	if err := s.store.PutFIDO2Policy(c.r.Context(), fido2PolicyToStore(p)); err != nil {
		return err
	}
	raw, _ := json.Marshal(p)
	s.audit(c, api.ActionUpdateFIDO2Policy, "", "success", "", map[string]string{"policy": string(raw)})
	return c.writeJSON(http.StatusOK, s.fido2PolicyOut(p))
}
