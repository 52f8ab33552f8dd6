package server

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory/entra/graphsim"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
)

// Tests of what Microsoft's v1.0 reference leaves open or requires, at
// the HTTP level, against the simulator.

// TestEntraPassWithoutStartInAnswer: a create answer without startDateTime
// (optional on create, not promised back) starts the pass at its creation,
// so the first sign-in works instead of answering passExpired.
func TestEntraPassWithoutStartInAnswer(t *testing.T) {
	e := newEntraEnv(t, "sqlite")
	e.sim.AddUser("ann@contoso.com", "Ann", "Member", false)
	e.sim.OmitCreateStart = true
	p := e.newPass("ann@contoso.com", api.CreatePassRequest{})
	if p.StartDateTime.IsZero() || !p.StartDateTime.Equal(p.CreatedDateTime) {
		t.Fatalf("start %v, created %v", p.StartDateTime, p.CreatedDateTime)
	}
	sp, err := e.st.GetPass(bg, "ann@contoso.com")
	if err != nil || !sp.StartAt.Equal(sp.CreatedAt) {
		t.Fatalf("stored pass %+v %v", sp, err)
	}
	k := e.fresh(e.kiosk)
	if _, err := k.OpenSession(bg, "ann@contoso.com", *p.TemporaryAccessPass); err != nil {
		t.Fatalf("sign-in with a pass whose start Entra did not repeat: %v", err)
	}
}

// TestEntraCreationOptionsShape: Graph's documented options carry
// @odata.type on every nested object, "platform" and "direct"; the kiosk
// gets them without annotations, without the "platform" hint, and with
// the real extensions, which reach the key through libfido2.
func TestEntraCreationOptionsShape(t *testing.T) {
	e := newEntraEnv(t, "sqlite")
	e.sim.AddUser("bea@contoso.com", "Bea", "Member", false)
	e.sim.Extensions = map[string]any{"credentialProtectionPolicy": "userVerificationRequired", "enforceCredentialProtectionPolicy": true,
		"hmacCreateSecret": true}
	k := e.signInEntra("bea@contoso.com")
	path, _ := plugKey(t, virtualkey.Options{})
	raw, opts := keyResponse(t, k, path, nil)
	pk := opts.PublicKey
	if js := mustJSON(opts); strings.Contains(js, "@odata") || strings.Contains(js, "platform") {
		t.Fatalf("annotations or the platform hint reached the kiosk: %s", js)
	}
	if pk.RelyingParty.ID != graphsim.RPID || pk.Attestation != "direct" || len(pk.Extensions.Extra) != 0 ||
		pk.Extensions.CredentialProtectionPolicy != protocol.CredentialProtectionPolicyUserVerificationRequired ||
		!pk.Extensions.EnforceCredentialProtectionPolicy || !pk.Extensions.HMACCreateSecret {
		t.Fatalf("options %s", mustJSON(opts))
	}
	if !strings.Contains(string(raw), `"hmacCreateSecret":true`) {
		t.Fatalf("the key made no hmac-secret: %s", raw)
	}
	if _, err := k.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw}); err != nil {
		t.Fatal(err)
	}
}

// TestEntraMethodNames: every documented kind gets a name, and a method
// Graph gives no time for shows none (not 0001-01-01).
func TestEntraMethodNames(t *testing.T) {
	e := newEntraEnv(t, "sqlite")
	uid := e.sim.AddUser("cai@contoso.com", "Cai", "Member", false)
	e.sim.AddMethod(uid, "phone", "+1 2065550123")
	e.sim.AddPhone(uid, "+46 70 123 45 67", "alternateMobile")
	e.sim.AddMethod(uid, "email", "cai@fabrikam.example")
	e.sim.AddMethod(uid, "softwareOath", "")
	e.sim.AddMethod(uid, "microsoftAuthenticator", "")
	e.sim.AddMethod(uid, "windowsHelloForBusiness", "Cai's laptop")
	ms, err := e.admin.UserMethods(bg, "cai@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range ms {
		got[api.MethodKind(m.Type)+"/"+m.DisplayName] = fmt.Sprint(!m.CreatedDateTime.IsZero())
	}
	want := map[string]string{"phone/+1 ••••••••23": "false", "phone/+46 •• ••• •• 67": "false", "email/cai@fabrikam.example": "false",
		"softwareOath/Authenticator app": "false", "microsoftAuthenticator/Microsoft Authenticator": "true",
		"windowsHelloForBusiness/Cai's laptop": "true"}
	if !maps.Equal(got, want) {
		t.Fatalf("names (and whether a date is shown) %v", got)
	}
	raw, _ := json.Marshal(ms)
	if strings.Contains(string(raw), "0001-01-01") {
		t.Fatalf("a zero date on the wire: %s", raw)
	}
}

// TestEntraPhoneDeleteRefusals: Entra will not delete the default MFA
// phone, nor a mobile while an alternate mobile exists
// (phoneauthenticationmethod-delete.md); the kiosk gets a clear code.
func TestEntraPhoneDeleteRefusals(t *testing.T) {
	e := newEntraEnv(t, "sqlite")
	uid := e.sim.AddUser("dag@contoso.com", "Dag", "Member", false)
	mobile := e.sim.AddPhone(uid, "+46 70 111 22 33", "mobile")
	alt := e.sim.AddPhone(uid, "+46 70 444 55 66", "alternateMobile")
	office := e.sim.AddPhone(uid, "+46 8 123 456", "office")
	e.sim.SetDefaultMethod(uid, office)
	k := e.signInEntra("dag@contoso.com")
	code(t, k.DeleteSessionMethod(bg, mobile), http.StatusConflict, api.CodeMobileHasAlternate)
	code(t, k.DeleteSessionMethod(bg, office), http.StatusConflict, api.CodePhoneIsDefaultMethod)
	code(t, e.admin.DeleteUserMethod(bg, "dag@contoso.com", office), http.StatusConflict, api.CodePhoneIsDefaultMethod)
	// In the documented order both mobiles go.
	for _, id := range []string{alt, mobile} {
		if err := k.DeleteSessionMethod(bg, id); err != nil {
			t.Fatal(err)
		}
	}
	l := e.audit(api.ActionDeleteMethod)
	reasons := map[string]int{}
	for _, a := range l {
		reasons[a.Result+"/"+a.ResultReason]++
	}
	if reasons["failure/mobileHasAlternate"] != 1 || reasons["failure/phoneIsDefaultMethod"] != 2 || reasons["success/"] != 2 {
		t.Fatalf("audit %v", reasons)
	}
}

// TestEntraClientRequestIDAndLongThrottling: the audit keeps the
// client-request-id beside Graph's request-id; a Retry-After longer than
// the limit fails at once with a clear answer and its wait.
func TestEntraClientRequestIDAndLongThrottling(t *testing.T) {
	e := newEntraEnv(t, "sqlite")
	e.sim.AddUser("eli@contoso.com", "Eli", "Member", false)
	e.newPass("eli@contoso.com", api.CreatePassRequest{})
	l := e.audit(api.ActionCreatePass)
	if len(l) != 1 || l[0].Details["graphRequestId"] == "" || !slices.Contains(e.sim.ClientRequestIDs, l[0].Details["graphClientRequestId"]) {
		t.Fatalf("audit %+v", l)
	}
	e.sim.FailMatching("POST", 1, http.StatusTooManyRequests, "TooManyRequests", "Too many requests.", 600)
	_, err := e.admin.CreatePass(bg, "eli@contoso.com", api.CreatePassRequest{})
	ae := code(t, err, http.StatusServiceUnavailable, api.CodeDirectoryUnavailable)
	if ae.RetryAfterSeconds != 600 || !strings.Contains(ae.Message, "600 seconds") || len(*e.waits) != 0 {
		t.Fatalf("%+v waits %v", ae, *e.waits)
	}
}

// TestEntraPasskeyProfiles: in a tenant with passkey profiles a key is
// judged by the profiles the person's groups allow, not the deprecated
// top-level fields, and the admin sees both.
//
// Graph may return the profiles inline or only under $expand (v1.0 lists
// them as a relationship): both are read.
func TestEntraPasskeyProfiles(t *testing.T) {
	for _, byExpand := range []bool{false, true} {
		t.Run(fmt.Sprintf("byExpand=%v", byExpand), func(t *testing.T) { passkeyProfiles(t, byExpand) })
	}
}

func passkeyProfiles(t *testing.T, byExpand bool) {
	e := newEntraEnv(t, "sqlite")
	e.sim.ProfilesByExpand = byExpand
	e.sim.AddUser("fay@contoso.com", "Fay", "Member", false, "Kiosk users")
	e.sim.AddUser("gil@contoso.com", "Gil", "Member", false)
	e.sim.AddUser("hal@contoso.com", "Hal", "Member", false, "Kiosk users", "Contractors")
	// The deprecated top-level restriction would block the virtual key
	// for everyone; the profiles decide instead.
	e.sim.BlockedAAGUIDs = []string{aaguid}
	e.sim.DefaultPasskeyProfile = "00000000-0000-0000-0000-000000000001"
	e.sim.PasskeyProfiles = []map[string]any{
		{"id": "00000000-0000-0000-0000-000000000001", "name": "Default passkey profile", "passkeyTypes": "deviceBound,synced",
			"attestationEnforcement": "disabled", "keyRestrictions": map[string]any{"isEnforced": true, "enforcementType": "block", "aaGuids": []string{aaguid}}},
		{"id": "6f1967b7-15e8-4935-ac26-d50770ed07a7", "name": "Kiosk keys", "passkeyTypes": "deviceBound",
			"attestationEnforcement": "disabled", "keyRestrictions": map[string]any{"isEnforced": true, "enforcementType": "allow", "aaGuids": []string{aaguid}}},
	}
	e.sim.FIDO2Targets = []map[string]any{
		{"targetType": "group", "id": "all_users", "isRegistrationRequired": false, "allowedPasskeyProfiles": []string{}},
		{"targetType": "group", "id": graphsim.GroupID("Kiosk users"), "isRegistrationRequired": false,
			"allowedPasskeyProfiles": []string{"6f1967b7-15e8-4935-ac26-d50770ed07a7"}},
	}
	e.sim.BlockedAAGUIDs = nil // the simulator itself refuses what tapd lets through; only tapd's judgement is tested
	fp, err := e.admin.GetFIDO2Policy(bg)
	if err != nil || len(fp.PasskeyProfiles) != 2 || fp.DefaultPasskeyProfile == "" || len(fp.IncludeTargets) != 2 ||
		fp.PasskeyProfiles[1].Name != "Kiosk keys" || !slices.Equal(fp.PasskeyProfiles[0].PasskeyTypes, []string{"deviceBound", "synced"}) {
		t.Fatalf("admin view %s %v", mustJSON(fp), err)
	}

	path, _ := plugKey(t, virtualkey.Options{})
	register := func(upn string) error {
		k := e.signInEntra(upn)
		raw, _ := keyResponse(t, k, path, nil)
		_, err := k.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw})
		return err
	}
	// In the group: the Kiosk keys profile allows the model.
	if err := register("fay@contoso.com"); err != nil {
		t.Fatal(err)
	}
	// Not in it: only the default profile, which blocks the model.
	code(t, register("gil@contoso.com"), http.StatusForbidden, api.CodeKeyRestricted)
	ok := e.audit(api.ActionRegisterFIDO2)
	found := false
	for _, a := range ok {
		found = found || a.Result == "success" && a.Details["passkeyProfile"] == "Kiosk keys"
	}
	if !found {
		t.Fatalf("the audit does not name the profile: %+v", ok)
	}
	// In the group but excluded: no profile at all.
	e.sim.FIDO2Exclude = []map[string]any{{"targetType": "group", "id": graphsim.GroupID("Contractors")}}
	ae := code(t, register("hal@contoso.com"), http.StatusForbidden, api.CodeKeyRestricted)
	if !strings.Contains(ae.Message, "no passkey profile for you") {
		t.Fatalf("excluded: %q", ae.Message)
	}
}
