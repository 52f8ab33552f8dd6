// The simulator's authentication methods: Temporary Access Passes,
// phones and the other methods, listing and deleting them with Graph's
// rules for phones.

package graphsim

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
)

// AddMethod gives a user another method (a phone, an old key). For a
// phone, displayName is its number and the phone is the mobile one; for
// email, it is the address.
func (s *Sim) AddMethod(userID, kind, displayName string) string {
	if kind == "phone" {
		return s.AddPhone(userID, displayName, "mobile")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := uuid.NewString()
	s.users[userID].methods = append(s.users[userID].methods, method{Type: "#microsoft.graph." + kind + "AuthenticationMethod", ID: id,
		DisplayName: displayName, Created: s.now()})
	return id
}

// PhoneIDs are the fixed ids of a user's phone methods, one per
// phoneType (phoneauthenticationmethod-delete.md).
var PhoneIDs = map[string]string{
	"mobile":          "3179e48a-750b-4051-897c-87b9720928f7",
	"alternateMobile": "b6332ec1-7057-4abe-9331-3d72feddfe41",
	"office":          "e37fc753-ff3b-4958-9484-eaa9425c82bc",
}

// AddPhone gives a user a phone of phoneType (mobile, alternateMobile or
// office) and returns its id, which Graph fixes per type.
func (s *Sim) AddPhone(userID, number, phoneType string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := PhoneIDs[phoneType]
	s.users[userID].methods = append(s.users[userID].methods, method{Type: "#microsoft.graph.phoneAuthenticationMethod", ID: id,
		DisplayName: number, PhoneType: phoneType})
	return id
}

// listFIDO2 answers GET fido2Methods (fido2authenticationmethod-list.md).
func (s *Sim) listFIDO2(w http.ResponseWriter, r *http.Request, u *user) {
	out := []any{}
	for _, m := range u.methods {
		if m.Type == "#microsoft.graph.fido2AuthenticationMethod" {
			out = append(out, map[string]any{"@odata.type": m.Type, "id": m.ID, "displayName": m.DisplayName, "createdDateTime": m.Created,
				"aaGuid": m.AAGUID, "model": m.Model, "attestationLevel": m.Level})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

// tapOut is a pass in the shape of the example answers of
// authentication-post-temporaryaccesspassmethods.md and
// authentication-list-temporaryaccesspassmethods.md.
func tapOut(t *tap, withValue bool, now time.Time) map[string]any {
	usable, reason := true, "EnabledByPolicy"
	switch {
	case now.Before(t.Start):
		usable, reason = false, "NotYetValid"
	case !now.Before(t.Start.Add(time.Duration(t.Lifetime) * time.Minute)):
		usable, reason = false, "Expired"
	case t.Once && t.Used:
		usable, reason = false, "OneTimeUsed"
	}
	out := map[string]any{"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod", "id": t.ID,
		"temporaryAccessPass": nil, "createdDateTime": t.Created, "startDateTime": t.Start, "lifetimeInMinutes": t.Lifetime,
		"isUsableOnce": t.Once, "isUsable": usable, "methodUsabilityReason": reason}
	if withValue {
		out["temporaryAccessPass"] = t.Value
	}
	return out
}

func (s *Sim) createTAP(w http.ResponseWriter, r *http.Request, u *user) {
	var req struct {
		StartDateTime     *time.Time `json:"startDateTime"`
		LifetimeInMinutes *int       `json:"lifetimeInMinutes"`
		IsUsableOnce      *bool      `json:"isUsableOnce"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload.")
		return
	}
	if u.ExternalUserState != "" {
		graphError(w, http.StatusBadRequest, "badRequest", "Temporary Access Pass cannot be added to an external guest user.")
		return
	}
	b := make([]byte, 6)
	rand.Read(b)
	t := &tap{ID: uuid.NewString(), Value: base64.RawURLEncoding.EncodeToString(b), Created: s.now(), Start: s.now(), Lifetime: 60}
	if req.StartDateTime != nil {
		t.Start = req.StartDateTime.UTC()
	}
	if req.LifetimeInMinutes != nil {
		if *req.LifetimeInMinutes < 10 || *req.LifetimeInMinutes > 43200 {
			graphError(w, http.StatusBadRequest, "badRequest", "The lifetime is outside the policy's range.")
			return
		}
		t.Lifetime = *req.LifetimeInMinutes
	}
	if req.IsUsableOnce != nil {
		t.Once = *req.IsUsableOnce
	}
	u.tap = t // one pass per user: a new one replaces the old
	out := tapOut(t, true, s.now())
	if s.OmitCreateStart && req.StartDateTime == nil {
		delete(out, "startDateTime")
	}
	writeJSON(w, http.StatusCreated, out)
}

// UseTAP marks a one-time pass used, as a sign-in would.
func (s *Sim) UseTAP(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[userID]; u != nil && u.tap != nil {
		u.tap.Used = true
	}
}

func (s *Sim) listTAP(w http.ResponseWriter, r *http.Request, u *user) {
	out := []any{}
	if u.tap != nil {
		out = append(out, tapOut(u.tap, false, s.now()))
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

func (s *Sim) listMethods(w http.ResponseWriter, r *http.Request, u *user) {
	// The password's id is the fixed one of passwordauthenticationmethod-get.md's example.
	out := []any{map[string]any{"@odata.type": "#microsoft.graph.passwordAuthenticationMethod", "id": "28c10230-6103-485e-b985-444c60001490"}}
	for _, m := range u.methods {
		e := map[string]any{"@odata.type": m.Type, "id": m.ID, "displayName": m.DisplayName, "createdDateTime": m.Created}
		// Some kinds have neither a name nor a time, as their resource
		// pages show: phoneauthenticationmethod.md, emailauthenticationmethod.md,
		// softwareoathauthenticationmethod.md.
		switch m.Type {
		case "#microsoft.graph.phoneAuthenticationMethod":
			e = map[string]any{"@odata.type": m.Type, "id": m.ID, "phoneNumber": m.DisplayName, "phoneType": m.PhoneType, "smsSignInState": "notSupported"}
		case "#microsoft.graph.emailAuthenticationMethod":
			e = map[string]any{"@odata.type": m.Type, "id": m.ID, "emailAddress": m.DisplayName}
		case "#microsoft.graph.softwareOathAuthenticationMethod":
			e = map[string]any{"@odata.type": m.Type, "id": m.ID, "secretKey": nil}
		}
		if m.AAGUID != "" {
			e["aaGuid"], e["model"], e["attestationLevel"] = m.AAGUID, m.Model, m.Level
		}
		out = append(out, e)
	}
	if u.tap != nil {
		out = append(out, tapOut(u.tap, false, s.now()))
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

func (s *Sim) deleteMethod(w http.ResponseWriter, r *http.Request, u *user) {
	kind, id := strings.TrimSuffix(r.PathValue("kind"), "Methods"), r.PathValue("mid")
	if kind == "temporaryAccessPass" && u.tap != nil && u.tap.ID == id {
		u.tap = nil
		w.WriteHeader(http.StatusNoContent)
		return
	}
	for i, m := range u.methods {
		if m.ID == id && m.Type == "#microsoft.graph."+kind+"AuthenticationMethod" {
			if msg := phoneRule(u, m); msg != "" {
				graphError(w, http.StatusBadRequest, "badRequest", msg)
				return
			}
			u.methods = append(u.methods[:i], u.methods[i+1:]...)
			u.creds = slices.DeleteFunc(u.creds, func(c webauthn.Credential) bool { return string(c.ID) == string(m.credID) })
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	graphError(w, http.StatusNotFound, "itemNotFound", "The requested authentication method was not found.")
}

// phoneRule applies phoneauthenticationmethod-delete.md's two rules: a
// user's default MFA method cannot be deleted, nor a mobile phone while an
// alternate mobile exists. The page gives no status or wording for either;
// the simulator answers 400 with its own words.
func phoneRule(u *user, m method) string {
	if m.Type != "#microsoft.graph.phoneAuthenticationMethod" {
		return ""
	}
	if m.ID == u.defaultMethod {
		return "The phone number is the user's default multi-factor authentication method and can't be deleted."
	}
	if m.PhoneType == "mobile" && slices.ContainsFunc(u.methods, func(x method) bool { return x.PhoneType == "alternateMobile" }) {
		return "A user can't have an alternateMobile number without a mobile number."
	}
	return ""
}

// SetDefaultMethod makes the method with that id the user's default MFA
// method, which Graph will not delete.
func (s *Sim) SetDefaultMethod(userID, methodID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[userID].defaultMethod = methodID
}
