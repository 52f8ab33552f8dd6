package console_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/recovery"
	"github.com/tapkiosk/tapkiosk/store"
)

// invite makes a staff member as tapctl staff invite does and returns
// the path of their one-time link.
func (w *world) invite(name, role string) string {
	w.t.Helper()
	tok, _, err := w.svc.InviteStaff(context.Background(), w.root, name, role)
	if err != nil {
		w.t.Fatal(err)
	}
	return "/console/enrol?t=" + url.QueryEscape(tok)
}

func (w *world) user(upn, name, role string) {
	w.t.Helper()
	if _, err := w.svc.CreateUser(context.Background(), w.root, api.User{UserPrincipalName: upn, DisplayName: name, AdminRole: role}); err != nil {
		w.t.Fatal(err)
	}
}

// enrol follows an invitation and creates the passkey in the tab's
// virtual authenticator; the staff member lands on the console.
func (b *tab) enrol(link, keyName string) {
	b.w.t.Helper()
	b.open(link)
	b.waitText("Set up your passkey")
	b.run(chromedp.SetValue("#keyname", keyName, chromedp.ByQuery))
	b.click("#enrol button")
	b.waitText("Find a person")
}

// lockFrom locks upn out with ten wrong passes from a new kiosk named
// name at address addr, through recovery as the kiosk's API does, and
// returns the kiosk's token.
func (w *world) lockFrom(name, addr, upn string) string {
	w.t.Helper()
	ctx := context.Background()
	kiosk, err := w.svc.CreateKiosk(ctx, w.root, api.CreateKioskRequest{Name: name})
	if err != nil {
		w.t.Fatal(err)
	}
	k, err := w.svc.KioskByToken(ctx, kiosk.Token)
	if err != nil {
		w.t.Fatal(err)
	}
	for range 10 {
		w.svc.SignIn(ctx, &recovery.Caller{RequestID: "k", Log: w.root.Log, Kiosk: k, ClientAddr: addr}, upn, "wrong-pass-guess")
	}
	return kiosk.Token
}

// findPerson searches for q on the search page, waits for want among
// the results and opens the first one.
func (b *tab) findPerson(q, want string) {
	b.w.t.Helper()
	b.open("/console/")
	b.run(chromedp.SendKeys("#q", q, chromedp.ByQuery))
	b.click("form[role=search] button")
	b.waitText(want)
	b.click("ul.results a")
}

// verifyAndIssue ticks the whole checklist and submits the pass form
// with a lifetime of 120 minutes; the caller waits for what follows.
func (b *tab) verifyAndIssue() {
	b.w.t.Helper()
	b.run(chromedp.Click("#check0", chromedp.ByQuery), chromedp.Click("#check1", chromedp.ByQuery),
		chromedp.SendKeys("#lifetime", "120", chromedp.ByQuery))
	b.click("form.pass button[type=submit]")
}

// approveAndIssue has Ben Second (a privileged authentication
// administrator, in a Chromium of his own) approve the one waiting
// request, then the asker issue it; it returns Ben's tab, on the pass.
func (w *world) approveAndIssue(asker *tab) *tab {
	w.t.Helper()
	ben := w.newTab()
	ben.enrol(w.invite("Ben Second", api.RolePrivilegedAuthenticationAdministrator), "Ben key")
	ben.open("/console/approvals")
	ben.click(`form[action="/console/approvals/approve"] button`)
	ben.waitText("Approved. The staff member who asked")
	asker.open("/console/approvals")
	asker.click(`form[action="/console/approvals/issue"] button`)
	asker.waitText("Shown once")
	return ben
}

// removeLostKey removes upn's method "Lost key" on their page and checks
// the page no longer lists it.
func (b *tab) removeLostKey(upn string) {
	b.w.t.Helper()
	b.open("/console/person?upn=" + url.QueryEscape(upn))
	b.click(`button[aria-label="Remove fido2 Lost key"]`)
	b.waitText("The method was removed")
	if strings.Contains(b.text(), "Lost key") {
		b.w.t.Fatal("the removed key is still listed")
	}
}

// lastPassAudit is the newest createPass entry for upn.
func (w *world) lastPassAudit(upn string) store.AuditEntry {
	w.t.Helper()
	es, err := w.st.ListAudit(context.Background(), store.AuditFilter{Target: upn, Action: api.ActionCreatePass, Result: "success", Limit: 1})
	if err != nil || len(es) == 0 {
		w.t.Fatalf("no createPass entry for %s: %v", upn, err)
	}
	return es[0]
}

// TestConsoleWalk walks the helpdesk console in Chromium with staff
// passkeys in virtual authenticators: invite and enrol, search, verify,
// issue and print, unlock, four eyes, sign out and in; and the refusals.
// axe-core checks every page on the way.
func TestConsoleWalk(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.user("pat@example.com", "Pat Lee", "")
	w.user("boss@example.com", "Bo Boss", api.RoleGlobalAdministrator)

	// Lock Pat out from a kiosk with wrong passes, so the console has a
	// lock to show and to undo.
	w.lockFrom("library-1", "127.0.0.9", "pat@example.com")

	ana := w.newTab()
	// No session: the sign-in page, and nothing of a person.
	ana.open("/console/person?upn=pat%40example.com")
	if s := ana.waitText("Sign in with a passkey"); strings.Contains(s, "Pat") || strings.Contains(s, "pat@") {
		t.Fatalf("a person's page without a session shows them:\n%s", s)
	}
	ana.axe("signin")

	anaLink := w.invite("Ana Help", api.RoleGlobalAdministrator)
	ana.open(anaLink)
	ana.waitText("Ana Help")
	ana.axe("enrol")
	ana.click("#enrol button")
	ana.waitText("Find a person")
	ana.axe("search")

	// The invitation worked once.
	ana.open(anaLink)
	ana.waitText("cannot be used")
	ana.axe("error")

	// Search by the start of a name, then open the person.
	ana.findPerson("Pa", "pat@example.com")
	s := ana.waitText("Pat Lee")
	if !strings.Contains(s, "library-1") || !strings.Contains(s, "127.0.0.9") {
		t.Fatalf("the lock does not name its kiosk and address:\n%s", s)
	}
	ana.axe("person")

	// Unlock.
	ana.click(`form[action="/console/unlock"] button`)
	ana.waitText("Unlocked")

	// Issue without the checklist: refused, nothing issued.
	ana.click("form.pass button[type=submit]")
	ana.waitText("tick every item")
	// Verify, then issue; the pass is shown once, with a print view.
	ana.open("/console/person?upn=pat%40example.com")
	ana.verifyAndIssue()
	ana.waitText("Shown once")
	var pass string
	ana.run(chromedp.Text("#pass", &pass, chromedp.ByQuery))
	if len(strings.TrimSpace(pass)) < 8 {
		t.Fatalf("pass %q", pass)
	}
	ana.axe("pass")
	printed := ana.printView("pass-print")
	for _, want := range []string{"pat@example.com", strings.TrimSpace(pass), "Stops working", "library, ground floor"} {
		if !strings.Contains(printed, want) {
			t.Errorf("the print view lacks %q:\n%s", want, printed)
		}
	}
	if strings.Contains(printed, "Sign out") || strings.Contains(printed, "Print") {
		t.Errorf("the print view shows the console's controls:\n%s", printed)
	}
	if e := w.lastPassAudit("pat@example.com"); e.Details["verification"] != strings.Join(checklist, "; ") || e.Actor != "Ana Help" || e.ActorType != "staff" {
		t.Fatalf("the pass's audit entry: %+v", e)
	}
	if strings.Contains(w.logs.String(), strings.TrimSpace(pass)) {
		t.Fatal("the pass reached the log")
	}
	// Never shown again: the person page lists the pass without its value.
	ana.open("/console/person?upn=pat%40example.com")
	if s := ana.waitText("temporaryAccessPass"); strings.Contains(s, strings.TrimSpace(pass)) {
		t.Fatal("the pass is shown again")
	}
	// Delete it.
	ana.click(`form[action="/console/pass/delete"] button`)
	ana.waitText("The pass was deleted")

	// Four eyes: Bo holds an admin role, so Ana asks and Ben approves.
	ana.open("/console/person?upn=boss%40example.com")
	ana.waitText("second staff member must approve")
	ana.run(chromedp.Click("#check0", chromedp.ByQuery), chromedp.Click("#check1", chromedp.ByQuery))
	ana.click("form.pass button[type=submit]")
	s = ana.waitText("Asked for approval")
	if strings.Contains(s, "Approve the pass") {
		t.Fatal("the asker is offered their own approval")
	}
	ana.axe("approvals")
	as, _ := w.svc.Approvals(ctx, w.root)
	if len(as) != 1 {
		t.Fatalf("approvals: %+v", as)
	}
	// Approving one's own request is refused even when posted by hand.
	ana.run(chromedp.Evaluate(`(() => { const f = document.createElement("form"); f.method = "post"; f.action = "/console/approvals/approve";
		for (const [n, v] of [["csrf", document.querySelector("input[name=csrf]").value], ["id", "`+as[0].ID+`"]]) {
			const i = document.createElement("input"); i.type = "hidden"; i.name = n; i.value = v; f.appendChild(i); }
		document.body.appendChild(f); f.submit(); })()`, nil))
	ana.waitText("a second staff member must approve it")

	ben := w.approveAndIssue(ana)
	if e := w.lastPassAudit("boss@example.com"); e.Details["approvedBy"] != "Ben Second" || e.Details["approvalId"] != as[0].ID || e.Details["verification"] == "" {
		t.Fatalf("the four-eyes pass's audit entry: %+v", e)
	}

	// The wrong role: a reader sees people but issues nothing.
	ben.click(".signout button")
	ben.waitText("You are signed out")
	ben.enrol(w.invite("Rea Reader", api.RoleReader), "Rea laptop")
	ben.open("/console/person?upn=pat%40example.com")
	ben.run(chromedp.Click("#check0", chromedp.ByQuery), chromedp.Click("#check1", chromedp.ByQuery))
	ben.click("form.pass button[type=submit]")
	ben.waitText("The role reader may not create or delete passes")
	ben.open("/console/staff")
	ben.waitText("may not manage admin tokens")

	// Ana adds a passkey on another device; she signs in with it below.
	ana.open("/console/passkeys")
	ana.waitText("Add a passkey")
	ana.axe("passkeys")
	ana.newAuthenticator()
	ana.run(chromedp.SetValue("#keyname", "Ana spare", chromedp.ByQuery))
	ana.click("#addkey button")
	ana.waitText("Ana spare")
	if keys, _ := w.svc.MyPasskeys(ctx, recovery.StaffSession{StaffID: as[0].RequestedBy}); len(keys) != 2 {
		t.Fatalf("Ana's passkeys: %+v", keys)
	}

	// Stale and missing CSRF tokens: a form from an earlier session, and
	// one without its token, are refused.
	var old string
	ana.run(chromedp.Evaluate(`document.querySelector("input[name=csrf]").value`, &old))
	if old == "" {
		t.Fatal("no CSRF token on the page")
	}
	ana.click(".signout button")
	ana.waitText("You are signed out")
	ana.click("#signin")
	ana.waitText("Find a person")
	ana.open("/console/person?upn=pat%40example.com")
	ana.run(chromedp.Evaluate(`document.querySelector('form[action="/console/unlock"] input[name=csrf]').value = "`+old+`"`, nil))
	ana.click(`form[action="/console/unlock"] button`)
	ana.waitText("security token does not match")
	ana.open("/console/person?upn=pat%40example.com")
	ana.run(chromedp.Evaluate(`document.querySelector('form[action="/console/unlock"] input[name=csrf]').remove()`, nil))
	ana.click(`form[action="/console/unlock"] button`)
	ana.waitText("security token does not match")

	// An administrator revokes Rea's passkey: her session ends.
	ana.open("/console/staff")
	ana.waitText("Rea Reader")
	ana.axe("staff")
	ana.click(`button[aria-label="Revoke passkey Rea laptop"]`)
	ana.waitText("The passkey was revoked")
	ben.open("/console/")
	ben.waitText("Sign in with a passkey")

	// An idle session ends after 15 minutes.
	ana.open("/console/")
	w.clock.Advance(recovery.StaffSessionIdle + time.Second)
	ana.open("/console/")
	ana.waitText("Your console session has ended")
}
