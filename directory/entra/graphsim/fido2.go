// The simulator as Entra's relying party for FIDO2 registration: creation
// options in the documented shape, verifying the registration with
// go-webauthn, judging it by the passkey profiles, and the FIDO2 method
// configuration.

package graphsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
	"github.com/tapkiosk/tapkiosk/directory/entra/graph"
)

// simUser adapts a user to go-webauthn.
type simUser struct{ u *user }

func (s simUser) WebAuthnID() []byte                         { return s.u.handle }
func (s simUser) WebAuthnName() string                       { return s.u.UPN }
func (s simUser) WebAuthnDisplayName() string                { return s.u.DisplayName }
func (s simUser) WebAuthnCredentials() []webauthn.Credential { return s.u.creds }

func (s *Sim) creationOptions(w http.ResponseWriter, r *http.Request, u *user) {
	if !s.SelfServiceSetup {
		graphError(w, http.StatusForbidden, "accessDenied", "The FIDO2 authentication method policy does not allow self-service setup.")
		return
	}
	var exclude []protocol.CredentialDescriptor
	for _, c := range u.creds {
		exclude = append(exclude, protocol.CredentialDescriptor{Type: protocol.PublicKeyCredentialType, CredentialID: c.ID})
	}
	rk := true
	creation, sd, err := s.rp.BeginRegistration(simUser{u}, webauthn.WithExclusions(exclude),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{RequireResidentKey: &rk, ResidentKey: protocol.ResidentKeyRequirementRequired,
			UserVerification: protocol.VerificationRequired}))
	if err != nil {
		graphError(w, http.StatusInternalServerError, "generalException", err.Error())
		return
	}
	exp := s.now().Add(5 * time.Minute)
	s.ceremonies[sd.Challenge] = ceremony{userID: u.ID, sd: *sd, expires: exp}
	writeJSON(w, http.StatusOK, map[string]any{"@odata.type": "#microsoft.graph.webauthnCredentialCreationOptions",
		"challengeTimeoutDateTime": exp, "publicKey": s.documentedShape(creation.Response)})
}

// documentedShape gives go-webauthn's options the shape of the documented
// example answer (fido2authenticationmethod-creationoptions.md): an
// @odata.type on every nested object, extensions included;
// authenticatorAttachment "platform"; attestation "direct"; timeout 60000.
func (s *Sim) documentedShape(o protocol.PublicKeyCredentialCreationOptions) map[string]any {
	var pk map[string]any
	raw, _ := json.Marshal(o)
	json.Unmarshal(raw, &pk)
	typed := func(v any, name string) map[string]any {
		m, _ := v.(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		m["@odata.type"] = "#microsoft.graph." + name
		return m
	}
	pk["@odata.type"] = "#microsoft.graph.webauthnPublicKeyCredentialCreationOptions"
	pk["rp"] = typed(pk["rp"], "webauthnPublicKeyCredentialRpEntity")
	pk["user"] = typed(pk["user"], "webauthnPublicKeyCredentialUserEntity")
	params, _ := pk["pubKeyCredParams"].([]any)
	for i, p := range params {
		params[i] = typed(p, "webauthnPublicKeyCredentialParameters")
	}
	sel := typed(pk["authenticatorSelection"], "webauthnAuthenticatorSelectionCriteria")
	sel["authenticatorAttachment"] = "platform"
	sel["requireResidentKey"] = true
	delete(sel, "residentKey") // the documented example has only requireResidentKey
	pk["authenticatorSelection"] = sel
	if pk["excludeCredentials"] == nil {
		pk["excludeCredentials"] = []any{}
	}
	pk["attestation"], pk["timeout"] = "direct", 60000
	ext := typed(nil, "webauthnAuthenticationExtensionsClientInputs")
	for k, v := range s.Extensions {
		ext[k] = v
	}
	pk["extensions"] = ext
	return pk
}

// registerFIDO2 takes the body of authentication-post-fido2methods.md:
// the documented example request, verbatim, carries @odata.type at every
// level and publicKeyCredential.clientExtensionResults, so both are
// accepted. The types are not open (openType false), so a member the
// reference does not name, such as rawId, is refused.
func (s *Sim) registerFIDO2(w http.ResponseWriter, r *http.Request, u *user) {
	var req struct {
		DisplayName         string `json:"displayName"`
		PublicKeyCredential struct {
			ID       string `json:"id"`
			Response struct {
				ClientDataJSON    string `json:"clientDataJSON"`
				AttestationObject string `json:"attestationObject"`
			} `json:"response"`
			ClientExtensionResults map[string]any `json:"clientExtensionResults"`
		} `json:"publicKeyCredential"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", "Unable to read the request body.")
		return
	}
	dec := json.NewDecoder(bytes.NewReader(graph.StripAnnotations(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", "Invalid request body: "+err.Error())
		return
	}
	pc := req.PublicKeyCredential
	for _, v := range []string{pc.ID, pc.Response.ClientDataJSON, pc.Response.AttestationObject} {
		if v == "" || strings.ContainsAny(v, "=+/") {
			graphError(w, http.StatusBadRequest, "badRequest", "publicKeyCredential values must be unpadded base64url.")
			return
		}
	}
	// go-webauthn wants the rawId and type a browser would add.
	full, _ := json.Marshal(map[string]any{"id": pc.ID, "rawId": pc.ID, "type": "public-key", "response": pc.Response})
	parsed, err := protocol.ParseCredentialCreationResponseBytes(full)
	if err != nil {
		graphError(w, http.StatusBadRequest, "badRequest", "The publicKeyCredential could not be parsed.")
		return
	}
	cer, ok := s.ceremonies[parsed.Response.CollectedClientData.Challenge]
	delete(s.ceremonies, parsed.Response.CollectedClientData.Challenge)
	if !ok || cer.userID != u.ID || s.now().After(cer.expires) {
		graphError(w, http.StatusBadRequest, "badRequest", "The challenge is invalid or has expired.")
		return
	}
	if f := parsed.Response.AttestationObject.Format; f != "packed" && f != "none" {
		graphError(w, http.StatusBadRequest, "badRequest", fmt.Sprintf("Attestation format %q is not supported; use packed or none.", f))
		return
	}
	cred, err := s.rp.CreateCredential(simUser{u}, cer.sd, parsed)
	if err != nil {
		graphError(w, http.StatusBadRequest, "badRequest", "The FIDO2 credential could not be verified.")
		return
	}
	aaguid, _ := uuid.FromBytes(cred.Authenticator.AAGUID)
	if slices.Contains(s.BlockedAAGUIDs, aaguid.String()) {
		graphError(w, http.StatusBadRequest, "badRequest", "This security key model is blocked by the FIDO2 key restriction policy.")
		return
	}
	if len(s.PasskeyProfiles) > 0 && !s.profilesTake(u, aaguid.String(), cred.Flags.BackupEligible) {
		graphError(w, http.StatusBadRequest, "badRequest", "This passkey is not allowed by the passkey profiles that apply to the user.")
		return
	}
	for _, other := range s.users {
		for _, c := range other.creds {
			if string(c.ID) == string(cred.ID) {
				graphError(w, http.StatusConflict, "conflict", "This credential is already registered.")
				return
			}
		}
	}
	m := method{Type: "#microsoft.graph.fido2AuthenticationMethod", ID: uuid.NewString(), DisplayName: req.DisplayName, Created: s.now(),
		AAGUID: aaguid.String(), Model: "Security key", Level: "notAttested", credID: cred.ID}
	u.methods = append(u.methods, m)
	u.creds = append(u.creds, *cred)
	writeJSON(w, http.StatusCreated, map[string]any{"@odata.type": m.Type, "id": m.ID, "displayName": m.DisplayName, "createdDateTime": m.Created,
		"aaGuid": m.AAGUID, "model": m.Model, "attestationLevel": m.Level})
}

// profilesTake judges a new passkey by the passkey profiles that apply to
// u: those of the include targets u is in (none listed: the default
// profile), none when an exclude target holds u, combined as
// ProfilesCombine says. Attestation is not judged here.
func (s *Sim) profilesTake(u *user, aaguid string, synced bool) bool {
	in := func(id string) bool {
		return id == "all_users" || slices.ContainsFunc(u.Groups, func(g string) bool { return GroupID(g) == id })
	}
	for _, t := range s.FIDO2Exclude {
		if id, _ := t["id"].(string); in(id) {
			return false
		}
	}
	allowed := map[string]bool{}
	for _, t := range s.FIDO2Targets {
		var tg graph.PasskeyTarget
		raw, _ := json.Marshal(t)
		json.Unmarshal(raw, &tg)
		if !in(tg.ID) {
			continue
		}
		if len(tg.AllowedPasskeyProfiles) == 0 {
			allowed[s.DefaultPasskeyProfile] = true
		}
		for _, id := range tg.AllowedPasskeyProfiles {
			allowed[id] = true
		}
	}
	kind := "deviceBound"
	if synced {
		kind = "synced"
	}
	yes, no := 0, 0
	for _, m := range s.PasskeyProfiles {
		var p graph.PasskeyProfile
		raw, _ := json.Marshal(m)
		json.Unmarshal(raw, &p)
		if !allowed[p.ID] {
			continue
		}
		kr := p.KeyRestrictions
		listed := slices.ContainsFunc(kr.AAGUIDs, func(a string) bool { return strings.EqualFold(a, aaguid) })
		if (p.PasskeyTypes == "" || strings.Contains(p.PasskeyTypes, kind)) && (!kr.IsEnforced || (kr.EnforcementType == "allow") == listed) {
			yes++
		} else {
			no++
		}
	}
	if s.ProfilesCombine == "all" {
		return yes > 0 && no == 0
	}
	return yes > 0
}

func (s *Sim) methodConfig(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// The reference spells the path .../Fido2 in one place and .../fido2
	// in another (fido2authenticationmethodconfiguration-get.md); the
	// simulator takes either, as we expect Graph does. tapd entra-check
	// asks a real tenant.
	switch strings.ToLower(r.PathValue("config")) {
	case "temporaryaccesspass":
		writeJSON(w, http.StatusOK, s.TAPPolicy)
	case "fido2":
		// The example answer of fido2authenticationmethodconfiguration-get.md, enabled.
		blocked := s.BlockedAAGUIDs
		if blocked == nil {
			blocked = []string{}
		}
		out := map[string]any{"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration", "id": "Fido2",
			"state": "enabled", "isSelfServiceRegistrationAllowed": s.SelfServiceSetup, "isAttestationEnforced": false,
			"keyRestrictions": map[string]any{"isEnforced": len(blocked) > 0, "enforcementType": "block", "aaGuids": blocked},
			"includeTargets":  []map[string]any{{"targetType": "group", "id": "all_users", "isRegistrationRequired": false}}, "excludeTargets": []any{}}
		expand := r.URL.Query().Get("$expand")
		if expand != "" && (!s.ProfilesByExpand || expand != "passkeyProfiles") {
			graphError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Parsing OData Select and Expand failed: Property '%s' on type "+
				"'microsoft.graph.fido2AuthenticationMethodConfiguration' is not a navigation property or complex property. Only navigation properties can be expanded.", expand))
			return
		}
		if len(s.PasskeyProfiles) > 0 {
			out["defaultPasskeyProfile"], out["includeTargets"] = s.DefaultPasskeyProfile, s.FIDO2Targets
			if !s.ProfilesByExpand || expand != "" {
				out["passkeyProfiles"] = s.PasskeyProfiles
			}
		}
		if s.FIDO2Exclude != nil {
			out["excludeTargets"] = s.FIDO2Exclude
		}
		writeJSON(w, http.StatusOK, out)
	default:
		graphError(w, http.StatusNotFound, "itemNotFound", "No such authentication method configuration.")
	}
}
