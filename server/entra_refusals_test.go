package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory/entra/graph"
	"github.com/tapkiosk/tapkiosk/directory/entra/graphsim"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
	"github.com/tapkiosk/tapkiosk/store"
)

// TestEntraSignInRefusals: Entra's word on the pass counts at the kiosk.
func TestEntraSignInRefusals(t *testing.T) {
	e := newEntraEnv(t, "sqlite")
	upn := "bo@contoso.com"
	uid := e.sim.AddUser(upn, "Bo", "Member", false)

	// Deleted in Entra (say, in the admin centre): refused, and forgotten.
	p := e.newPass(upn, api.CreatePassRequest{})
	if _, err := e.graph.DeleteMethod(bg, uid, "temporaryAccessPass", p.ID); err != nil {
		t.Fatal(err)
	}
	_, err := e.fresh(e.kiosk).OpenSession(bg, upn, *p.TemporaryAccessPass)
	code(t, err, http.StatusForbidden, api.CodePassDeleted)
	if _, err := e.st.GetPass(bg, upn); err == nil {
		t.Fatal("tapd kept the hash of a pass Entra deleted")
	}

	// Made elsewhere: the kiosk cannot check it, and says so.
	other, _, err := e.graph.CreateTAP(bg, uid, graph.CreateTAP{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.fresh(e.kiosk).OpenSession(bg, upn, *other.TemporaryAccessPass)
	code(t, err, http.StatusForbidden, api.CodePassNotCheckable)
	// An unknown account still gets the one generic answer.
	_, err = e.fresh(e.kiosk).OpenSession(bg, "nobody@contoso.com", "abcdefgh")
	code(t, err, http.StatusUnauthorized, api.CodeInvalidCredentials)

	// A start the admin gave reaches Entra; no start is Entra's "now".
	later := e.clock.Now().Add(2 * time.Hour)
	p = e.newPass(upn, api.CreatePassRequest{StartDateTime: &later})
	if !p.StartDateTime.Equal(later) {
		t.Fatalf("start %v, want %v", p.StartDateTime, later)
	}
	_, err = e.fresh(e.kiosk).OpenSession(bg, upn, *p.TemporaryAccessPass)
	code(t, err, http.StatusForbidden, api.CodePassNotYetValid)

	// Expired by Entra's clock.
	p = e.newPass(upn, api.CreatePassRequest{})
	e.clock.Advance(61 * time.Minute)
	_, err = e.fresh(e.kiosk).OpenSession(bg, upn, *p.TemporaryAccessPass)
	code(t, err, http.StatusForbidden, api.CodePassExpired)

	// Not in the tenant policy's targets (groups by object id).
	e.sim.TAPPolicy["includeTargets"] = []map[string]any{{"targetType": "group", "id": graphsim.GroupID("Kiosk users")}}
	p = e.newPass(upn, api.CreatePassRequest{})
	_, err = e.fresh(e.kiosk).OpenSession(bg, upn, *p.TemporaryAccessPass)
	code(t, err, http.StatusForbidden, api.CodeNotInPolicy)
	// The target group sits on the third page of Cy's groups.
	e.sim.PageSize(2)
	e.sim.AddUser("cy@contoso.com", "Cy", "Member", false, "Staff", "Floor 2", "Lunch club", "Chess", "Kiosk users")
	cy := e.newPass("cy@contoso.com", api.CreatePassRequest{})
	if !cy.IsUsable || cy.MethodUsabilityReason != "EnabledByPolicy" {
		t.Fatalf("the new pass of a targeted user is reported unusable: %+v", cy)
	}
	if _, err := e.fresh(e.kiosk).OpenSession(bg, "cy@contoso.com", *cy.TemporaryAccessPass); err != nil {
		t.Fatal(err)
	}

	// External guests: Entra's exact words; internal guests are fine.
	e.sim.AddUser("ext_partner.com#EXT#@contoso.com", "Ext", "Guest", true)
	_, err = e.admin.CreatePass(bg, "ext_partner.com#EXT#@contoso.com", api.CreatePassRequest{})
	if ae := code(t, err, http.StatusBadRequest, api.CodeExternalGuest); ae.Message != api.ExternalGuestMessage {
		t.Fatalf("message %q", ae.Message)
	}
	_, err = e.admin.CreatePass(bg, "ghost@contoso.com", api.CreatePassRequest{})
	code(t, err, http.StatusNotFound, api.CodeUserNotFound)

	// tapd cannot see Entra's admin roles, so only privileged roles manage passes.
	tok, err := e.admin.CreateAdminToken(bg, api.CreateAdminTokenRequest{Name: "helpdesk", Role: api.RoleAuthenticationAdministrator})
	if err != nil {
		t.Fatal(err)
	}
	_, err = api.NewClient(e.http.URL, tok.Token).CreatePass(bg, upn, api.CreatePassRequest{})
	code(t, err, http.StatusForbidden, api.CodeForbidden)
}

// TestEntraRegistrationRefusals: Entra's refusals become kiosk messages.
func TestEntraRegistrationRefusals(t *testing.T) {
	e := newEntraEnv(t, "sqlite")
	post := "POST /v1.0/users/" + e.sim.AddUser("di@contoso.com", "Di", "Member", false) + "/authentication/fido2Methods"
	k := e.signInEntra("di@contoso.com")
	path, _ := plugKey(t, virtualkey.Options{})

	e.sim.SelfServiceSetup = false
	_, err := k.CreationOptions(bg)
	code(t, err, http.StatusForbidden, api.CodeSelfServiceSetupOff)
	e.sim.SelfServiceSetup = true

	e.sim.BlockedAAGUIDs = []string{aaguid}
	raw, _ := keyResponse(t, k, path, nil)
	_, err = k.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw})
	code(t, err, http.StatusForbidden, api.CodeKeyRestricted)
	e.sim.BlockedAAGUIDs = nil

	u2f, _ := plugKey(t, virtualkey.Options{Attestation: "fido-u2f"})
	raw, _ = keyResponse(t, k, u2f, nil)
	_, err = k.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw})
	if ae := code(t, err, http.StatusBadRequest, api.CodeRegistrationRejected); !strings.Contains(ae.Message, "packed or none") {
		t.Fatalf("message %q", ae.Message)
	}

	e.sim.FailMatching(post, 1, http.StatusConflict, "conflict", "This credential is already registered.", 0)
	raw, _ = keyResponse(t, k, path, nil)
	_, err = k.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw})
	code(t, err, http.StatusConflict, api.CodeAlreadyRegistered)

	e.sim.FailMatching(post, 1, http.StatusBadRequest, "badRequest", "Something Entra did not like.", 0)
	raw, _ = keyResponse(t, k, path, nil)
	_, err = k.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw})
	if ae := code(t, err, http.StatusBadRequest, api.CodeRegistrationRejected); strings.Contains(ae.Message, "did not like") {
		t.Fatalf("Graph's own words reached the kiosk: %q", ae.Message)
	}

	// A replayed answer is refused by tapd before Entra sees it.
	before := len(e.sim.Requests)
	_, err = k.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw})
	code(t, err, http.StatusBadRequest, api.CodeChallengeInvalid)
	if len(e.sim.Requests) != before {
		t.Fatalf("a replay reached Graph: %v", e.sim.Requests[before:])
	}
	// After all that, the key still registers.
	if _, err := k.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: mustRaw(keyResponse(t, k, path, nil))}); err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, a := range e.audit(api.ActionRegisterFIDO2) {
		if a.Result == "failure" {
			refused++
		}
	}
	if refused < 5 {
		t.Fatalf("only %d refusals audited", refused)
	}
}

func mustRaw(raw json.RawMessage, _ api.CreationOptions) json.RawMessage { return raw }

// TestEntraThrottlingAndOutages: throttling mid-journey is retried;
// an outage is a clear "directory unavailable" and leaves nothing half-done.
func TestEntraThrottlingAndOutages(t *testing.T) {
	e := newEntraEnv(t, "sqlite")
	uid := e.sim.AddUser("ed@contoso.com", "Ed", "Member", false)
	old := e.sim.AddMethod(uid, "microsoftAuthenticator", "Lost phone")
	k := e.signInEntra("ed@contoso.com")
	path, _ := plugKey(t, virtualkey.Options{})

	// Throttled twice at registration: retried after Retry-After, then done.
	raw, _ := keyResponse(t, k, path, nil)
	e.sim.FailMatching("POST /v1.0/users/"+uid+"/authentication/fido2Methods", 2, http.StatusTooManyRequests, "TooManyRequests", "Too many requests.", 3)
	*e.waits = nil
	if _, err := k.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(*e.waits, []time.Duration{3 * time.Second, 3 * time.Second}) {
		t.Fatalf("waits %v", *e.waits)
	}

	// Graph down while listing methods: 503 the kiosk can explain.
	e.sim.Fail(100, http.StatusServiceUnavailable)
	_, err := k.SessionMethods(bg)
	ae := code(t, err, http.StatusServiceUnavailable, api.CodeDirectoryUnavailable)
	if ae.RetryAfterSeconds == 0 {
		t.Fatal("no Retry-After")
	}
	// Down while deleting: refused, audited as not done, and nothing changed.
	e.sim.ClearFaults()
	e.sim.FailMatching("DELETE", 100, http.StatusServiceUnavailable, "serviceNotAvailable", "down", 0)
	err = k.DeleteSessionMethod(bg, old)
	code(t, err, http.StatusServiceUnavailable, api.CodeDirectoryUnavailable)
	l := e.audit(api.ActionDeleteMethod)
	if len(l) != 1 || l[0].Result != "unknown" || l[0].ResultReason != "directoryUnavailable" || l[0].Details["methodId"] != old {
		t.Fatalf("audit %+v", l)
	}
	ms, _, _ := e.graph.Methods(bg, uid)
	if !slices.ContainsFunc(ms, func(m graph.Method) bool { return m.ID == old }) {
		t.Fatal("the method vanished during the outage")
	}
	// A pass delete in the outage: the session and the pass stay, so the
	// kiosk can try again.
	err = k.DeleteSessionPass(bg)
	code(t, err, http.StatusServiceUnavailable, api.CodeDirectoryUnavailable)
	if _, err := k.GetSession(bg); err != nil {
		t.Fatalf("the session ended although Entra kept the pass: %v", err)
	}

	e.sim.ClearFaults()
	// Back up: the journey finishes.
	if err := k.DeleteSessionMethod(bg, old); err != nil {
		t.Fatal(err)
	}
	if err := k.DeleteSessionPass(bg); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(e.logs.String(), e.sim.Token) {
		t.Fatal("the Graph token reached the log")
	}
}

// TestEntraHangingGraph: a Graph that does not answer is cut at the
// client's per-attempt timeout and gives the same clear answer.
func TestEntraHangingGraph(t *testing.T) {
	e := newEntraEnv(t, "sqlite", func(c *graph.Client) { c.Timeout = 200 * time.Millisecond })
	e.sim.AddUser("gu@contoso.com", "Gu", "Member", false)
	e.sim.Delay(time.Minute)
	_, err := e.admin.GetUser(bg, "gu@contoso.com")
	code(t, err, http.StatusServiceUnavailable, api.CodeDirectoryUnavailable)
	if got := len(*e.waits); got != 3 {
		t.Fatalf("a hanging read was tried %d+1 times, want 4", got)
	}
	e.sim.Delay(0)
}

// TestEntraCreatePassOutage: a pass Entra may or may not have made is
// audited as unknown; the admin gets a clear error and no value.
func TestEntraCreatePassOutage(t *testing.T) {
	e := newEntraEnv(t, "sqlite")
	e.sim.AddUser("fi@contoso.com", "Fi", "Member", false)
	e.sim.FailMatching("POST", 1, http.StatusServiceUnavailable, "serviceNotAvailable", "down", 0)
	_, err := e.admin.CreatePass(bg, "fi@contoso.com", api.CreatePassRequest{})
	code(t, err, http.StatusServiceUnavailable, api.CodeDirectoryUnavailable)
	l := e.audit(api.ActionCreatePass)
	if len(l) != 1 || l[0].Result != "unknown" {
		t.Fatalf("audit %+v", l)
	}
	if _, err := e.st.GetPass(bg, "fi@contoso.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("tapd kept a pass Entra did not confirm: %v", err)
	}
}

// TestEntraOutageAtSignIn: a one-time pass is not spent when Graph fails
// while the session is being opened.
func TestEntraOutageAtSignIn(t *testing.T) {
	e := newEntraEnv(t, "sqlite")
	e.sim.AddUser("jo@contoso.com", "Jo", "Member", false)
	once := true
	p := e.newPass("jo@contoso.com", api.CreatePassRequest{IsUsableOnce: &once})
	e.sim.FailMatching("GET /v1.0/users/jo@contoso.com/authentication/methods", 100, http.StatusServiceUnavailable, "serviceNotAvailable", "down", 0)
	_, err := e.fresh(e.kiosk).OpenSession(bg, "jo@contoso.com", *p.TemporaryAccessPass)
	code(t, err, http.StatusServiceUnavailable, api.CodeDirectoryUnavailable)
	e.sim.ClearFaults()
	if _, err := e.fresh(e.kiosk).OpenSession(bg, "jo@contoso.com", *p.TemporaryAccessPass); err != nil {
		t.Fatalf("the one-time pass was spent by the failed try: %v", err)
	}
}
