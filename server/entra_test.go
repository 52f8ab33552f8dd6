package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/directory/entra"
	"github.com/tapkiosk/tapkiosk/directory/entra/graph"
	"github.com/tapkiosk/tapkiosk/directory/entra/graphsim"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/fido/virtualkey"
	"github.com/tapkiosk/tapkiosk/recovery"
	"github.com/tapkiosk/tapkiosk/store"
)

// entraEnv is tapd in Entra mode over a Graph simulator; tapd and the
// simulated tenant share one clock.
type entraEnv struct {
	*env
	sim   *graphsim.Sim
	graph *graph.Client // tapd's own client
	waits *[]time.Duration
}

func newEntraEnv(t *testing.T, backend string, tweak ...func(*graph.Client)) *entraEnv {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	sim := graphsim.New()
	t.Cleanup(sim.Close)
	sim.Now = clk.Now
	var waits []time.Duration
	gc := &graph.Client{BaseURL: sim.URL(), Tokens: graph.StaticToken(sim.Token), HTTP: sim.Server.Client(), Timeout: 2 * time.Second,
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	for _, f := range tweak {
		f(gc)
	}
	st := openStore(t, backend)
	e := newEnvWith(t, st, clk, func(c recovery.Config) directory.Directory {
		return entra.New(entra.Config{Graph: gc, Store: c.Store, Argon2: c.Argon2, Now: c.Now, Logger: c.Logger})
	})
	return &entraEnv{env: e, sim: sim, graph: gc, waits: &waits}
}

// signInEntra has IT make a pass through tapd and signs in at the kiosk.
func (e *entraEnv) signInEntra(upn string) *api.Client {
	e.t.Helper()
	p := e.newPass(upn, api.CreatePassRequest{})
	k := e.fresh(e.kiosk)
	if _, err := k.OpenSession(bg, upn, *p.TemporaryAccessPass); err != nil {
		e.t.Fatal(err)
	}
	return k
}

func (e *entraEnv) audit(action string) []api.AuditEntry {
	e.t.Helper()
	l, err := e.admin.Audit(bg, api.AuditQuery{Action: action})
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

func forEachEntraBackend(t *testing.T, fn func(t *testing.T, e *entraEnv)) {
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) { fn(t, newEntraEnv(t, b)) })
	}
}

// TestEntraJourney is the kiosk's whole API journey against the simulated
// tenant, with real libfido2 and the virtual key.
func TestEntraJourney(t *testing.T) {
	forEachEntraBackend(t, func(t *testing.T, e *entraEnv) {
		upn := "ada@contoso.com"
		uid := e.sim.AddUser(upn, "Ada Lovelace", "Member", false, "Engineering")
		phone := e.sim.AddMethod(uid, "phone", "+46 70 123 45 67")
		oldKey := e.sim.AddMethod(uid, "fido2", "Lost key")

		// Policies are the tenant's, and say so.
		pol, err := e.admin.GetPolicy(bg)
		if err != nil || pol.ManagedBy != "entra" || pol.State != "enabled" || pol.MinimumLifetimeInMinutes != 60 {
			t.Fatalf("policy %+v %v", pol, err)
		}
		on := "disabled"
		_, err = e.admin.UpdatePolicy(bg, api.PolicyPatch{State: &on})
		code(t, err, http.StatusConflict, api.CodeManagedInEntra)
		_, err = e.admin.CreateUser(bg, api.User{UserPrincipalName: "x@contoso.com", DisplayName: "X"})
		code(t, err, http.StatusConflict, api.CodeManagedInEntra)
		fp, err := e.admin.GetFIDO2Policy(bg)
		if err != nil || fp.ManagedBy != "entra" || fp.IsSelfServiceRegistrationAllowed == nil || !*fp.IsSelfServiceRegistrationAllowed {
			t.Fatalf("fido2 policy %+v %v", fp, err)
		}
		u, err := e.admin.GetUser(bg, "ADA@contoso.com")
		if err != nil || u.DisplayName != "Ada Lovelace" || len(u.Groups) != 1 {
			t.Fatalf("user %+v %v", u, err)
		}

		// The pass is made in Entra; tapd keeps its hash under Entra's id.
		p := e.newPass(upn, api.CreatePassRequest{})
		value := *p.TemporaryAccessPass
		gl, _, err := e.graph.ListTAP(bg, upn)
		if err != nil || len(gl) != 1 || gl[0].ID != p.ID {
			t.Fatalf("pass not in Entra: %+v %v", gl, err)
		}
		sp, err := e.st.GetPass(bg, upn)
		if err != nil || sp.ID != p.ID || strings.Contains(sp.Hash, value) || !strings.HasPrefix(sp.Hash, "$argon2id$") {
			t.Fatalf("local pass %+v %v", sp, err)
		}
		if l, _ := e.admin.ListPasses(bg, upn); len(l) != 1 || l[0].TemporaryAccessPass != nil || l[0].ID != p.ID {
			t.Fatalf("pass list %+v", l)
		}

		// The kiosk's journey.
		k := e.fresh(e.kiosk)
		sess, err := k.OpenSession(bg, upn, value)
		if err != nil || sess.DisplayName != "Ada Lovelace" || !sess.HasOtherMethods {
			t.Fatalf("sign-in %+v %v", sess, err)
		}
		path, _ := plugKey(t, virtualkey.Options{})
		raw, opts := keyResponse(t, k, path, nil)
		if opts.PublicKey.RelyingParty.ID != graphsim.RPID || opts.ChallengeTimeoutDateTime.After(e.clock.Now().Add(5*time.Minute)) {
			t.Fatalf("options %s", mustJSON(opts))
		}
		m, err := k.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw, KeyModel: "Virtual Key 5", DisplayName: "Ada's new key"})
		if err != nil || m.DisplayName != "Ada's new key" || m.AAGUID != aaguid {
			t.Fatalf("register %+v %v", m, err)
		}
		ms, err := k.SessionMethods(bg)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, x := range ms {
			kinds = append(kinds, strings.TrimPrefix(x.Type, "#microsoft.graph.")+"/"+x.DisplayName+fmt.Sprint(x.RegisteredThisSession))
		}
		slices.Sort(kinds)
		want := []string{"fido2AuthenticationMethod/Ada's new keytrue", "fido2AuthenticationMethod/Lost keyfalse",
			"phoneAuthenticationMethod/+46 70 123 45 67false", "temporaryAccessPassAuthenticationMethod/false"}
		if !slices.Equal(kinds, want) {
			t.Fatalf("methods %q", kinds)
		}

		// The key check runs against Entra's relying party.
		if err := keyCheck(t, k, path, m.ID); err != nil {
			t.Fatalf("key check: %v", err)
		}

		// Clean-up: the new key stays, the lost ones go, per kind.
		code(t, k.DeleteSessionMethod(bg, m.ID), http.StatusConflict, api.CodeMethodInUse)
		for _, id := range []string{oldKey, phone} {
			if err := k.DeleteSessionMethod(bg, id); err != nil {
				t.Fatal(err)
			}
		}
		code(t, k.DeleteSessionMethod(bg, "no-such-method"), http.StatusNotFound, api.CodeNotFound)
		reqs := strings.Join(e.sim.Requests, "\n")
		for _, want := range []string{"DELETE /v1.0/users/ada@contoso.com/authentication/fido2Methods/" + oldKey,
			"DELETE /v1.0/users/ada@contoso.com/authentication/phoneMethods/" + phone, "POST /v1.0/users/ada@contoso.com/authentication/fido2Methods"} {
			if !strings.Contains(reqs, want) {
				t.Fatalf("Graph never saw %s:\n%s", want, reqs)
			}
		}
		if err := k.DeleteSessionPass(bg); err != nil {
			t.Fatal(err)
		}
		if gl, _, _ := e.graph.ListTAP(bg, upn); len(gl) != 0 {
			t.Fatalf("the pass is still in Entra: %+v", gl)
		}
		if _, err := k.GetSession(bg); err == nil {
			t.Fatal("the session outlived its pass")
		}

		// Every Graph write is audited with Graph's request id.
		for _, a := range []string{api.ActionCreatePass, api.ActionRegisterFIDO2, api.ActionDeleteMethod, api.ActionDeletePass} {
			l := e.audit(a)
			if len(l) == 0 {
				t.Fatalf("no audit for %s", a)
			}
			ok := 0
			for _, x := range l {
				if x.Result == "success" && x.Details["graphRequestId"] == "" {
					t.Fatalf("%s audited without Graph's request id: %+v", a, x)
				}
				if x.Result == "success" {
					ok++
				}
			}
			if ok == 0 {
				t.Fatalf("no successful %s audited: %+v", a, l)
			}
		}
		// The pass value reached no log, audit record or table.
		if strings.Contains(e.logs.String(), value) {
			t.Fatal("the pass value reached the log")
		}
		all, _ := e.admin.Audit(bg, api.AuditQuery{})
		if strings.Contains(mustJSON(all), value) {
			t.Fatal("the pass value reached the audit trail")
		}
	})
}

// keyCheck runs the kiosk's key check through libfido2.
func keyCheck(t *testing.T, k *api.Client, path, id string) error {
	t.Helper()
	opts, err := k.AssertionOptions(bg, id)
	if err != nil {
		return err
	}
	as, err := fido.Assert(context.Background(), path, fido.AssertRequest{Options: opts.PublicKey, Origin: "https://" + opts.PublicKey.RelyingPartyID, PIN: "2468"})
	if err != nil {
		return err
	}
	raw, _ := json.Marshal(as)
	_, err = k.CheckKey(bg, id, raw)
	return err
}

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
	e.sim.AddUser("di@contoso.com", "Di", "Member", false)
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

	e.sim.FailMatching("POST /v1.0/users/di@contoso.com/authentication/fido2Methods", 1, http.StatusConflict, "conflict", "This credential is already registered.", 0)
	raw, _ = keyResponse(t, k, path, nil)
	_, err = k.RegisterFIDO2(bg, api.RegisterFIDO2Request{PublicKeyCredential: raw})
	code(t, err, http.StatusConflict, api.CodeAlreadyRegistered)

	e.sim.FailMatching("POST /v1.0/users/di@contoso.com/authentication/fido2Methods", 1, http.StatusBadRequest, "badRequest", "Something Entra did not like.", 0)
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
	e.sim.FailMatching("POST /v1.0/users/ed@contoso.com/authentication/fido2Methods", 2, http.StatusTooManyRequests, "TooManyRequests", "Too many requests.", 3)
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
