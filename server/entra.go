package server

// Entra mode. Microsoft Entra ID, through Microsoft Graph, holds the users,
// both method policies, the passes and the methods, and is the relying
// party for new keys. tapd keeps only what the kiosk needs and Graph cannot
// give: each pass's Argon2id hash (Graph shows a pass value once, to its
// creator), the sessions, ceremonies, throttles and the audit trail, and a
// record of each key the kiosk registered, so the key check still works. A
// local user row mirrors each Entra user who got a pass from tapd, because
// passes and sessions refer to users.

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory/entra/graph"
	"github.com/tapkiosk/tapkiosk/store"
	"github.com/tapkiosk/tapkiosk/tap"
)

const managedByEntra = "entra"

func (s *Server) entra() bool { return s.graph != nil }

// graphFailure turns a failed Graph call into a client-safe error. op says
// what tapd was doing, in words that finish "tapd could not ...". The
// detail goes to the log with Graph's request id.
func (s *Server) graphFailure(c *call, op string, res graph.Result, err error) error {
	var ge *graph.Error
	isGraph := errors.As(err, &ge)
	c.log.Warn("graph call failed", "op", op, "graph_request_id", res.RequestID, "attempts", res.Attempts, "err", err.Error())
	switch {
	case errors.Is(err, graph.ErrUnavailable) || isGraph && ge.Status == http.StatusTooManyRequests:
		e := api.Errf(http.StatusServiceUnavailable, api.CodeDirectoryUnavailable,
			"The directory (Microsoft Entra ID) is unavailable, so tapd could not %s. Try again in a few minutes.", op)
		e.RetryAfterSeconds = 30
		return e
	case isGraph && (ge.Status == http.StatusUnauthorized || ge.Status == http.StatusForbidden):
		return api.Errf(http.StatusBadGateway, api.CodeDirectoryError,
			"Microsoft Entra ID did not let tapd %s (HTTP %d); IT should check tapd's application permissions. Graph request id %s.", op, ge.Status, ge.RequestID)
	case isGraph:
		return api.Errf(http.StatusBadGateway, api.CodeDirectoryError,
			"Microsoft Entra ID refused to %s (HTTP %d). Graph request id %s.", op, ge.Status, ge.RequestID)
	}
	return api.Errf(http.StatusBadGateway, api.CodeDirectoryError, "tapd could not %s in Microsoft Entra ID; the request id is %s.", op, c.requestID)
}

func graphStatus(err error) int {
	var ge *graph.Error
	if errors.As(err, &ge) {
		return ge.Status
	}
	return 0
}

// graphDetails adds a Graph call's request id to audit details.
func graphDetails(d map[string]string, res graph.Result) map[string]string {
	if d == nil {
		d = map[string]string{}
	}
	if res.RequestID != "" {
		d["graphRequestId"] = res.RequestID
	}
	return d
}

// writeFailed gives the audit result and reason of a Graph write that
// failed. A write Graph may have done before the line went quiet is
// "unknown", not "failure", so the trail never claims less than may have
// reached Entra.
func writeFailed(err error) (result, reason string) {
	if errors.Is(err, graph.ErrUnavailable) {
		return "unknown", "directoryUnavailable"
	}
	return "failure", "directoryRefused"
}

// selfServiceOff tells whether the tenant's FIDO2 policy has "Allow
// self-service setup" off, which is what a 403 from the provisioning API
// usually means; otherwise the 403 is a missing permission.
func (s *Server) selfServiceOff(c *call) bool {
	p, err := s.entraFIDO2Policy(c)
	return err == nil && !*p.IsSelfServiceRegistrationAllowed
}

var errManagedInEntra = api.Errf(http.StatusConflict, api.CodeManagedInEntra,
	"tapd runs with the Microsoft Entra ID directory: users and policies are managed in Entra (the admin centre or Graph), not here.")

// refuseInEntra wraps a local-only handler so Entra mode answers with a
// clear 409 instead.
func (s *Server) refuseInEntra(h handler) handler {
	return func(c *call) error {
		if s.entra() {
			return errManagedInEntra
		}
		return h(c)
	}
}

// entraUser looks a user up in Entra. Graph accepts a UPN where it takes
// an id, so tapd never needs to keep object ids.
func (s *Server) entraUser(c *call, upn string) (store.User, error) {
	ctx := c.r.Context()
	g, res, err := s.graph.GetUser(ctx, upn)
	if graphStatus(err) == http.StatusNotFound {
		return store.User{}, api.Errf(http.StatusNotFound, api.CodeUserNotFound, "No user %s in Microsoft Entra ID.", upn)
	}
	if err != nil {
		return store.User{}, s.graphFailure(c, "look the user up", res, err)
	}
	u := store.User{UPN: g.UserPrincipalName, DisplayName: g.DisplayName, UserType: g.UserType}
	if u.UserType == "Guest" {
		u.GuestKind = "internal"
		if g.External() {
			u.GuestKind = "external"
		}
	}
	return u, nil
}

// entraGroups returns the object ids of the user's groups, direct or not:
// the policy's targets name groups by id.
func (s *Server) entraGroups(c *call, upn string) ([]string, error) {
	gs, res, err := s.graph.Groups(c.r.Context(), upn)
	if err != nil {
		return nil, s.graphFailure(c, "read the user's groups", res, err)
	}
	ids := []string{}
	for _, g := range gs {
		ids = append(ids, g.ID)
	}
	return ids, nil
}

func (s *Server) entraPolicy(c *call) (tap.Policy, error) {
	p, res, err := s.graph.TAPPolicy(c.r.Context())
	if err != nil {
		return p, s.graphFailure(c, "read the Temporary Access Pass policy", res, err)
	}
	if p.DefaultLength == 0 {
		p.DefaultLength = tap.MinPassLength
	}
	return p, nil
}

func (s *Server) entraFIDO2Policy(c *call) (api.FIDO2Policy, error) {
	p, res, err := s.graph.FIDO2Policy(c.r.Context())
	if err != nil {
		return api.FIDO2Policy{}, s.graphFailure(c, "read the FIDO2 policy", res, err)
	}
	kr := p.KeyRestrictions
	if kr.AAGUIDs == nil {
		kr.AAGUIDs = []string{}
	}
	self := p.IsSelfServiceRegistrationAllowed
	return api.FIDO2Policy{IsAttestationEnforced: p.IsAttestationEnforced, KeyRestrictions: kr,
		IsSelfServiceRegistrationAllowed: &self, ManagedBy: managedByEntra}, nil
}

// ---- passes ----

// createEntraPass creates the pass in Entra, which replaces any pass the
// user had there, and keeps its hash under Entra's method id. The answer
// is Entra's own, so isUsable is Entra's verdict. When the
// hash cannot be kept the Entra pass is deleted again, so no pass exists
// that the kiosk cannot check, and the audit trail says so either way.
//
// The start is sent only when the admin gave one: "now" is Entra's to
// decide, so a clock behind Entra's cannot make a start in the past.
func (s *Server) createEntraPass(c *call, u store.User, st tap.PassState, startGiven bool, out map[string]string) (api.TemporaryAccessPassMethod, error) {
	ctx := c.r.Context()
	target := tap.UPNKey(u.UPN)
	req := graph.CreateTAP{LifetimeInMinutes: &st.LifetimeMinutes, IsUsableOnce: &st.IsUsableOnce}
	if startGiven {
		start := st.Start
		req.StartDateTime = &start
	}
	gp, res, err := s.graph.CreateTAP(ctx, u.UPN, req)
	if err != nil {
		result, reason := writeFailed(err)
		s.audit(c, api.ActionCreatePass, target, result, reason, graphDetails(nil, res))
		if msg := graphMessage(err); msg == api.ExternalGuestMessage {
			return api.TemporaryAccessPassMethod{}, api.Errf(http.StatusBadRequest, api.CodeExternalGuest, "%s", api.ExternalGuestMessage)
		}
		return api.TemporaryAccessPassMethod{}, s.graphFailure(c, "create the pass", res, err)
	}
	if gp.TemporaryAccessPass == nil || *gp.TemporaryAccessPass == "" {
		s.audit(c, api.ActionCreatePass, target, "failure", "noValueFromDirectory", graphDetails(map[string]string{"passId": gp.ID}, res))
		return api.TemporaryAccessPassMethod{}, api.Errf(http.StatusBadGateway, api.CodeDirectoryError, "Microsoft Entra ID created pass %s but did not return its value; delete it in Entra and try again.", gp.ID)
	}
	graphDetails(out, res)
	_, name := c.actor()
	p := store.Pass{ID: gp.ID, UPN: u.UPN, CreatedAt: gp.CreatedDateTime.UTC().Truncate(time.Millisecond), StartAt: gp.StartDateTime.UTC().Truncate(time.Millisecond),
		LifetimeMinutes: gp.LifetimeInMinutes, IsUsableOnce: gp.IsUsableOnce, CreatedBy: name}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = s.now().UTC().Truncate(time.Millisecond)
	}
	p.Hash, err = tap.HashPass(*gp.TemporaryAccessPass, s.cfg.Argon2)
	if err == nil {
		err = s.mirrorUser(ctx, u)
	}
	if err == nil {
		var replaced string
		if replaced, err = s.store.ReplacePass(ctx, p); replaced != "" {
			out["replacedPassId"] = replaced
		}
	}
	if err != nil {
		// Undo in Entra so that no pass exists which nobody can use here.
		dres, derr := s.graph.DeleteMethod(ctx, u.UPN, "temporaryAccessPass", gp.ID)
		d := graphDetails(map[string]string{"passId": gp.ID, "createRequestId": res.RequestID}, dres)
		if derr != nil {
			d["undo"] = "failed"
			s.audit(c, api.ActionCreatePass, target, "failure", "savedInEntraOnly", d)
			c.log.Error("pass left in Entra", "pass_id", gp.ID, "err", derr.Error())
			return api.TemporaryAccessPassMethod{}, api.Errf(http.StatusInternalServerError, api.CodeInternal,
				"tapd created pass %s in Entra but could not keep its check value, and could not delete it again: delete it in the Entra admin centre.", gp.ID)
		}
		d["undo"] = "deleted"
		s.audit(c, api.ActionCreatePass, target, "failure", "notSaved", d)
		return api.TemporaryAccessPassMethod{}, err
	}
	return gp, nil
}

func graphMessage(err error) string {
	var ge *graph.Error
	if errors.As(err, &ge) {
		return ge.Message
	}
	return ""
}

// mirrorUser makes sure the Entra user has a local row for passes and
// sessions to refer to.
func (s *Server) mirrorUser(ctx context.Context, u store.User) error {
	u.CreatedAt = s.now().UTC()
	if err := s.store.CreateUser(ctx, u); err != nil && !errors.Is(err, store.ErrAlreadyExists) {
		return err
	}
	return nil
}

func (s *Server) listEntraPasses(c *call, u store.User) error {
	ps, res, err := s.graph.ListTAP(c.r.Context(), u.UPN)
	if err != nil {
		return s.graphFailure(c, "list the passes", res, err)
	}
	if ps == nil {
		ps = []api.TemporaryAccessPassMethod{}
	}
	return c.writeJSON(http.StatusOK, api.List[api.TemporaryAccessPassMethod]{Value: ps})
}

// deleteEntraPass deletes a pass in Entra, then here (which ends its
// sessions). A pass already gone from Entra is deleted here all the same.
func (s *Server) deleteEntraPass(c *call, upn, id string, details map[string]string) error {
	ctx := c.r.Context()
	res, err := s.graph.DeleteMethod(ctx, upn, "temporaryAccessPass", id)
	details = graphDetails(details, res)
	target := tap.UPNKey(upn)
	if err != nil && graphStatus(err) != http.StatusNotFound {
		result, reason := writeFailed(err)
		s.audit(c, api.ActionDeletePass, target, result, reason, details)
		return s.graphFailure(c, "delete the pass", res, err)
	}
	if err != nil {
		details["inEntra"] = "alreadyGone"
	}
	if lerr := s.store.DeletePass(ctx, upn, id); lerr != nil && !errors.Is(lerr, store.ErrNotFound) {
		s.audit(c, api.ActionDeletePass, target, "failure", "deletedInEntraOnly", details)
		return lerr
	}
	s.audit(c, api.ActionDeletePass, target, "success", "", details)
	return nil
}

// entraPassState asks Entra about the pass a person signed in with. The
// answer is errPassGone when Entra no longer has it (deleted, or replaced
// by a pass made elsewhere), else Entra's usability reason ("" if usable).
func (s *Server) entraPassState(c *call, p store.Pass) (string, error) {
	ps, res, err := s.graph.ListTAP(c.r.Context(), p.UPN)
	if err != nil && graphStatus(err) != http.StatusNotFound {
		return "", s.graphFailure(c, "check the pass", res, err)
	}
	for _, gp := range ps {
		if gp.ID == p.ID {
			if gp.IsUsable {
				return "", nil
			}
			return gp.MethodUsabilityReason, nil
		}
	}
	return "", errPassGone
}

var errPassGone = api.Errf(http.StatusForbidden, api.CodePassDeleted, "This pass was deleted or replaced in Microsoft Entra ID. Ask IT for a new one.")

// entraHasPass reports whether Entra holds a pass for upn: when tapd has
// no hash for it, the pass was made elsewhere and the kiosk cannot check it.
func (s *Server) entraHasPass(c *call, upn string) bool {
	ps, _, err := s.graph.ListTAP(c.r.Context(), upn)
	return err == nil && len(ps) > 0
}

var errPassNotCheckable = api.Errf(http.StatusForbidden, api.CodePassNotCheckable,
	"This pass was not made through tapkiosk (for example, it was made in the Entra admin centre), so the kiosk cannot check it. Ask IT for a pass made with tapctl.")

// ---- methods ----

// entraMethods lists the user's methods from Entra, the password left out
// (the kiosk cannot remove it). A key is marked registeredThisSession when
// this session's kiosk registered it.
func (s *Server) entraMethods(c *call, upn, sessionID string) ([]api.AuthenticationMethod, error) {
	ctx := c.r.Context()
	ms, res, err := s.graph.Methods(ctx, upn)
	if err != nil {
		return nil, s.graphFailure(c, "list the sign-in methods", res, err)
	}
	out := []api.AuthenticationMethod{}
	for _, m := range ms {
		if m.Kind() == "" || m.Kind() == "password" {
			continue
		}
		a := m.AuthenticationMethod
		a.Type = m.Type
		if a.DisplayName == "" {
			a.DisplayName = m.PhoneNumber
		}
		if m.Kind() == "fido2" && sessionID != "" {
			lm, err := s.store.GetMethod(ctx, upn, m.ID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			a.RegisteredThisSession = err == nil && lm.SessionID == sessionID
		}
		out = append(out, a)
	}
	return out, nil
}

// deleteEntraMethod deletes one method in Entra by its kind, which the
// methods list tells. The session's own pass and the key registered in
// this session are refused before anything reaches Entra.
func (s *Server) deleteEntraMethod(c *call, upn, id string) error {
	ctx := c.r.Context()
	ms, err := s.entraMethods(c, upn, "")
	if err != nil {
		return err
	}
	var m *api.AuthenticationMethod
	for i := range ms {
		if ms[i].ID == id {
			m = &ms[i]
		}
	}
	if m == nil {
		return api.Errf(http.StatusNotFound, api.CodeNotFound, "There is no method with that id in Microsoft Entra ID.")
	}
	kind := api.MethodKind(m.Type)
	target := tap.UPNKey(upn)
	details := map[string]string{"methodId": id, "kind": kind, "aaGuid": m.AAGUID}
	if kind == "temporaryAccessPass" {
		return api.Errf(http.StatusConflict, api.CodeMethodInUse, "Passes are deleted with the pass step (or `tapctl tap delete`).")
	}
	if c.session != nil {
		if lm, err := s.store.GetMethod(ctx, upn, id); err == nil && lm.SessionID == c.session.ID {
			s.audit(c, api.ActionDeleteMethod, target, "failure", "registeredThisSession", details)
			return api.Errf(http.StatusConflict, api.CodeMethodInUse, "This is the key you registered just now, so it cannot be removed here.")
		}
	}
	res, err := s.graph.DeleteMethod(ctx, upn, kind, id)
	details = graphDetails(details, res)
	if err != nil && graphStatus(err) != http.StatusNotFound {
		result, reason := writeFailed(err)
		s.audit(c, api.ActionDeleteMethod, target, result, reason, details)
		return s.graphFailure(c, "remove the method", res, err)
	}
	if err := s.store.DeleteMethod(ctx, upn, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		c.log.Warn("local key record not deleted", "method_id", id, "err", err)
	}
	s.audit(c, api.ActionDeleteMethod, target, "success", "", details)
	return c.noContent()
}

// ---- registration ----

// entraCreationOptions fetches creation options from Entra, right when the
// kiosk is ready to touch (the challenge lives five minutes), and keeps
// what tapd needs to check the answer before sending it on: the challenge,
// Entra's rp id (the origin is https:// + rp id) and Entra's user handle.
func (s *Server) entraCreationOptions(c *call) error {
	ctx := c.r.Context()
	o, res, err := s.graph.CreationOptions(ctx, c.session.UPN)
	if err != nil {
		if graphStatus(err) == http.StatusForbidden && s.selfServiceOff(c) {
			s.audit(c, api.ActionRegisterFIDO2, tap.UPNKey(c.session.UPN), "failure", "selfServiceSetupOff", graphDetails(nil, res))
			return errSelfServiceOff
		}
		return s.graphFailure(c, "start the key registration", res, err)
	}
	pk := o.PublicKey
	handle, _ := pk.User.ID.(protocol.URLEncodedBase64) // graph.Client decoded and checked it
	uv := protocol.VerificationRequired
	if pk.AuthenticatorSelection.UserVerification != "" {
		uv = pk.AuthenticatorSelection.UserVerification
	}
	sd := &webauthn.SessionData{Challenge: pk.Challenge.String(), RelyingPartyID: pk.RelyingParty.ID, Origin: "https://" + pk.RelyingParty.ID,
		UserID: handle, UserVerification: uv, CredParams: pk.Parameters}
	exp, err := s.saveCeremony(c, "registration", "", sd)
	if err != nil {
		return err
	}
	if !o.ChallengeTimeoutDateTime.IsZero() && o.ChallengeTimeoutDateTime.Before(exp) {
		exp = o.ChallengeTimeoutDateTime
	}
	return c.writeJSON(http.StatusCreated, api.CreationOptions{ChallengeTimeoutDateTime: exp, PublicKey: pk})
}

var errSelfServiceOff = api.Errf(http.StatusForbidden, api.CodeSelfServiceSetupOff,
	`Security keys cannot be registered here yet: "Allow self-service setup" is off in your organisation's FIDO2 policy. Ask IT.`)

// entraRegister sends a response tapd has already verified on to Entra,
// then keeps a local record of the key for the key check. A refusal from
// Entra becomes a clear kiosk message.
func (s *Server) entraRegister(c *call, req api.RegisterFIDO2Request, m store.Method, details map[string]string) (store.Method, error) {
	ctx := c.r.Context()
	target := tap.UPNKey(c.session.UPN)
	gm, res, err := s.graph.RegisterFIDO2(ctx, c.session.UPN, graph.RegisterFIDO2{DisplayName: m.DisplayName, PublicKeyCredential: req.PublicKeyCredential})
	details = graphDetails(details, res)
	if err != nil {
		var out error
		result, reason := writeFailed(err)
		switch st := graphStatus(err); {
		case st == http.StatusConflict:
			reason, out = "alreadyRegistered", api.Errf(http.StatusConflict, api.CodeAlreadyRegistered, "This security key is already registered to an account.")
		case st == http.StatusForbidden && s.selfServiceOff(c):
			reason, out = "selfServiceSetupOff", errSelfServiceOff
		case st == http.StatusBadRequest:
			c.log.Info("entra refused the key", "graph_request_id", res.RequestID, "graph_message", graphMessage(err))
			out = api.Errf(http.StatusBadRequest, api.CodeRegistrationRejected,
				"Microsoft Entra ID refused this key. Ask IT to check the FIDO2 policy (key restrictions, attestation). Graph request id %s.", res.RequestID)
		}
		if out == nil {
			out = s.graphFailure(c, "register the key", res, err)
		}
		s.audit(c, api.ActionRegisterFIDO2, target, result, reason, details)
		return m, out
	}
	m.ID, m.DisplayName, m.CreatedAt = gm.ID, gm.DisplayName, gm.CreatedDateTime.UTC().Truncate(time.Millisecond)
	if gm.AttestationLevel != "" {
		m.AttestationLevel = gm.AttestationLevel
	}
	if gm.Model != "" {
		m.Model = gm.Model
	}
	if err := s.store.CreateMethod(ctx, m); err != nil {
		// The key is in Entra, which is what matters; only the key check
		// will not find it.
		c.log.Error("local key record not kept", "method_id", m.ID, "err", err)
		details["localRecord"] = "notKept"
	}
	return m, nil
}
