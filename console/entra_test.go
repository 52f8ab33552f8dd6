package console_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/directory"
	"github.com/tapkiosk/tapkiosk/directory/entra"
	"github.com/tapkiosk/tapkiosk/directory/entra/graph"
	"github.com/tapkiosk/tapkiosk/directory/entra/graphsim"
	"github.com/tapkiosk/tapkiosk/store"
)

// newEntraWorld is the console with tapd's directory in Microsoft Graph:
// the Graph simulator on loopback, shared clock.
func newEntraWorld(t *testing.T) (*world, *graphsim.Sim) {
	t.Helper()
	sim := graphsim.New()
	t.Cleanup(sim.Close)
	w := newWorldWith(t, func(st store.Store, _ *webauthn.WebAuthn, now func() time.Time, logger *slog.Logger) directory.Directory {
		sim.Now = now
		gc := &graph.Client{BaseURL: sim.URL(), Tokens: graph.StaticToken(sim.Token), HTTP: sim.Server.Client(), Timeout: 5 * time.Second}
		return entra.New(entra.Config{Graph: gc, Store: st, Argon2: cheapArgon, Now: now, Logger: logger})
	})
	return w, sim
}

// simPasses are the ids of the passes the simulated tenant holds for a
// user, read straight from its Graph route.
func simPasses(t *testing.T, sim *graphsim.Sim, userID string) []string {
	return simList(t, sim, userID, "temporaryAccessPassMethods")
}

// simList is the ids and display names of a user's methods of one kind
// ("methods" for all), as the simulated tenant holds them.
func simList(t *testing.T, sim *graphsim.Sim, userID, kind string) []string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, sim.URL()+"/users/"+userID+"/authentication/"+kind, nil)
	req.Header.Set("Authorization", "Bearer "+sim.Token)
	resp, err := sim.Server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Value []struct {
			ID          string `json:"id"`
			DisplayName string `json:"displayName"`
		} `json:"value"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&body) != nil {
		t.Fatalf("the simulator's passes of %s: %s", userID, resp.Status)
	}
	var ids []string
	for _, v := range body.Value {
		ids = append(ids, strings.TrimSpace(v.ID+" "+v.DisplayName))
	}
	return ids
}

// TestConsoleEntraWalk walks the console in Chromium with tapd's
// directory in Entra (the Graph simulator): search by full UPN (a name
// prefix is refused with the reason), four eyes for everyone (tapd cannot
// see Entra's role assignments), the pass made in the tenant with the
// checklist and the approver in tapd's audit, unlock, and delete.
func TestConsoleEntraWalk(t *testing.T) {
	w, sim := newEntraWorld(t)
	ctx := context.Background()
	patID := sim.AddUser("pat@contoso.test", "Pat Lee", "Member", false)
	sim.AddMethod(patID, "fido2", "Lost key")

	ana := w.newTab()
	ana.enrol(w.invite("Ana Help", api.RoleGlobalAdministrator), "Ana key")

	// A name prefix cannot be searched in Entra: the page says why.
	ana.open("/console/?q=Pat")
	ana.waitText("search by the full userPrincipalName")
	ana.axe("entra-search-refused")
	ana.findPerson("pat@contoso.test", "pat@contoso.test")
	ana.waitText("second staff member must approve")
	ana.axe("entra-person")

	// Four eyes: Ana asks, Ben approves, Ana issues.
	ana.verifyAndIssue()
	ana.waitText("Asked for approval")
	as, err := w.svc.Approvals(ctx, w.root)
	if err != nil || len(as) != 1 {
		t.Fatalf("approvals: %+v %v", as, err)
	}
	if got := simPasses(t, sim, patID); len(got) != 0 {
		t.Fatalf("a pass exists before the approval: %v", got)
	}
	w.approveAndIssue(ana)
	var pass string
	ana.run(chromedp.Text("#pass", &pass, chromedp.ByQuery))
	pass = strings.TrimSpace(pass)
	if len(pass) < 8 {
		t.Fatalf("pass %q", pass)
	}
	ana.axe("entra-pass")
	held := simPasses(t, sim, patID)
	if len(held) != 1 {
		t.Fatalf("the tenant holds passes %v after the issue", held)
	}
	e := w.lastPassAudit("pat@contoso.test")
	if e.Details["verification"] != strings.Join(checklist, "; ") || e.Details["approvedBy"] != "Ben Second" ||
		e.Details["approvalId"] != as[0].ID || e.Actor != "Ana Help" || e.ActorType != "staff" {
		t.Fatalf("the pass's audit entry: %+v", e)
	}
	if strings.Contains(w.logs.String(), pass) {
		t.Fatal("the pass reached the log")
	}

	// Wrong guesses at a kiosk lock the person out (tapd holds the hash
	// of the pass it made); the person page names the kiosk and address,
	// and the unlock can revoke that kiosk in the same step.
	kiosk := w.lockFrom("lobby-2", "127.0.0.7", "pat@contoso.test")

	ana.open("/console/person?upn=pat%40contoso.test")
	s := ana.waitText("Locked until")
	if !strings.Contains(s, "lobby-2") || !strings.Contains(s, "127.0.0.7") {
		t.Fatalf("the lock does not name its kiosk and address:\n%s", s)
	}
	ana.waitText("Also revoke kiosk lobby-2")
	ana.axe("entra-locked")
	ana.run(chromedp.Click("#revoke-kiosk", chromedp.ByQuery))
	ana.click(`form[action="/console/unlock"] button[type=submit]`)
	ana.waitText("Unlocked")
	ana.waitText("Revoked kiosk lobby-2")
	if p, err := w.svc.Person(ctx, w.root, "pat@contoso.test"); err != nil || p.Locked {
		t.Fatalf("after the unlock: %+v %v", p, err)
	}
	if _, err := w.svc.KioskByToken(ctx, kiosk); err == nil {
		t.Fatal("the kiosk that started the lock still works")
	}

	// The person page lists the tenant's pass without its value; delete it.
	ana.open("/console/person?upn=pat%40contoso.test")
	if s := ana.waitText("temporaryAccessPass"); strings.Contains(s, pass) {
		t.Fatal("the pass is shown again")
	}
	ana.click(`form[action="/console/pass/delete"] button`)
	ana.waitText("The pass was deleted")
	if got := simPasses(t, sim, patID); len(got) != 0 {
		t.Fatalf("the tenant still holds passes %v after the delete", got)
	}

	// A lost key: an authentication administrator may not remove it in
	// Entra (tapd cannot see roles there); Ana's role may, in the tenant.
	cal := w.newTab()
	cal.enrol(w.invite("Cal Auth", api.RoleAuthenticationAdministrator), "Cal key")
	cal.open("/console/person?upn=pat%40contoso.test")
	cal.click(`button[aria-label="Remove fido2 Lost key"]`)
	cal.waitText("only a privileged authentication administrator may")
	lost := func(m string) bool { return strings.HasSuffix(m, " Lost key") }
	if got := simList(t, sim, patID, "methods"); !slices.ContainsFunc(got, lost) {
		t.Fatalf("the tenant's methods after the refusal: %q", got)
	}
	ana.removeLostKey("pat@contoso.test")
	if got := simList(t, sim, patID, "methods"); slices.ContainsFunc(got, lost) {
		t.Fatalf("the tenant's methods after the removal: %q", got)
	}
}
