package server

import (
	"context"
	"encoding/json"
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
	// Graph is in this process on loopback: the per-attempt timeout only
	// has to catch a hang, and a short one fails answers that a busy
	// machine merely slowed (TestEntraHangingGraph sets its own).
	gc := &graph.Client{BaseURL: sim.URL(), Tokens: graph.StaticToken(sim.Token), HTTP: sim.Server.Client(), Timeout: 30 * time.Second,
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
			"phoneAuthenticationMethod/+46 •• ••• •• 67false", "temporaryAccessPassAuthenticationMethod/Temporary Access Passfalse"}
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
			"DELETE /v1.0/users/ada@contoso.com/authentication/phoneMethods/" + phone, "GET /v1.0/users/" + uid + "/authentication/fido2Methods/creationOptions", "POST /v1.0/users/" + uid + "/authentication/fido2Methods"} {
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
