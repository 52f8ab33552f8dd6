package console_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/store"
)

// press sends real key presses (DevTools Input.dispatchKeyEvent) to
// whatever has the focus.
func (b *tab) press(keys string) {
	b.w.t.Helper()
	b.run(chromedp.KeyEvent(keys))
}

// focus describes the focused element, and whether its focus ring shows
// (it matches :focus-visible and has an outline drawn).
func (b *tab) focus(sel string) (matches, visible bool, desc string) {
	b.w.t.Helper()
	var out struct {
		Matches bool   `json:"matches"`
		Visible bool   `json:"visible"`
		Desc    string `json:"desc"`
	}
	b.run(chromedp.Evaluate(`(() => { const e = document.activeElement; if (!e || e === document.body) return {matches: false, visible: false, desc: "body"};
		const st = getComputedStyle(e);
		return {matches: e.matches(`+"`"+sel+"`"+`), visible: e.matches(":focus-visible") && st.outlineStyle != "none" && parseFloat(st.outlineWidth) > 0,
			desc: e.tagName + "#" + e.id + " " + (e.getAttribute("aria-label") || e.textContent || "").trim().slice(0, 40)}; })()`, &out))
	return out.Matches, out.Visible, out.Desc
}

// tabTo presses Tab until the element matching sel has the focus, and
// fails if it is not reached within max presses or if any control the
// focus passes has no visible focus ring. It returns the presses taken.
func (b *tab) tabTo(sel string, max int) int {
	b.w.t.Helper()
	var path []string
	for n := 1; n <= max; n++ {
		b.press(kb.Tab)
		m, vis, desc := b.focus(sel)
		path = append(path, desc)
		if !vis {
			b.w.t.Fatalf("focus on %s shows no focus ring (path %q)", desc, path)
		}
		if m {
			return n
		}
	}
	b.w.t.Fatalf("%s not reached with %d Tab presses; the focus went %q", sel, max, path)
	return 0
}

// expectFocus fails unless the element matching sel has the focus.
func (b *tab) expectFocus(sel string) {
	b.w.t.Helper()
	if m, vis, desc := b.focus(sel); !m || !vis {
		b.w.t.Fatalf("focus is on %s (ring visible %v), want %s", desc, vis, sel)
	}
}

// checked reports whether the checkbox sel is ticked.
func (b *tab) checked(sel string) bool {
	b.w.t.Helper()
	var on bool
	b.run(chromedp.Evaluate(`document.querySelector(`+"`"+sel+"`"+`).checked`, &on))
	return on
}

// TestConsoleKeyboard signs in, searches, unlocks (revoking the kiosk
// that started the lock), ticks the checklist and issues a pass with key
// presses only (Tab, Space, Enter), checking where the focus goes and
// that its ring shows. Then a lost key is removed by a role that may,
// after a reader was refused.
func TestConsoleKeyboard(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.user("pat@example.com", "Pat Lee", "")
	cred := make([]byte, 32)
	rand.Read(cred)
	if err := w.st.CreateMethod(ctx, store.Method{ID: "lost-key-1", UPN: "pat@example.com", Kind: "fido2", DisplayName: "Lost key",
		CreatedAt: w.clock.Now(), CredentialID: cred, PublicKey: []byte{1}, Model: "Example Key"}); err != nil {
		t.Fatal(err)
	}
	kiosk := w.lockFrom("library-3", "127.0.0.5", "pat@example.com")

	ana := w.newTab()
	ana.enrol(w.invite("Ana Help", api.RoleGlobalAdministrator), "Ana key")
	// Sign out and back in, by keyboard.
	ana.tabTo(".signout button", 20)
	ana.press(kb.Enter)
	ana.waitText("You are signed out")
	if n := ana.tabTo("#signin", 10); n > 3 {
		t.Errorf("the sign-in button is %d Tab presses in", n)
	}
	ana.press(kb.Enter)
	ana.waitText("Find a person")

	// Search: Tab to the box, type, Enter; Tab to the result, Enter.
	ana.tabTo("#q", 20)
	ana.press("Pa")
	ana.press(kb.Enter)
	ana.waitText("pat@example.com")
	ana.tabTo("ul.results a", 20)
	ana.press(kb.Enter)
	s := ana.waitText("Also revoke kiosk library-3")
	if !strings.Contains(s, "127.0.0.5") {
		t.Fatalf("the lock does not name its address:\n%s", s)
	}
	ana.axe("keyboard-locked")

	// A role that may not manage kiosks sees the lock and its kiosk, but
	// is not offered the box (ticking it would cost the whole unlock).
	rea := w.newTab()
	rea.enrol(w.invite("Rea Reader", api.RoleReader), "Rea laptop")
	rea.open("/console/person?upn=pat%40example.com")
	if s := rea.waitText("Locked until"); !strings.Contains(s, "library-3") || strings.Contains(s, "Also revoke kiosk") {
		t.Fatalf("a reader's person page:\n%s", s)
	}

	// Unlock, revoking the kiosk: Space ticks the box, Tab reaches Unlock.
	ana.tabTo("#revoke-kiosk", 30)
	ana.press(" ")
	if !ana.checked("#revoke-kiosk") {
		t.Fatal("Space did not tick the revoke box")
	}
	ana.press(kb.Tab)
	ana.expectFocus(`form[action="/console/unlock"] button[type=submit]`)
	ana.press(kb.Enter)
	ana.waitText("Unlocked")
	ana.waitText("Revoked kiosk library-3")
	if _, err := w.svc.KioskByToken(ctx, kiosk); err == nil {
		t.Fatal("the kiosk that started the lock still works")
	}
	ana.axe("keyboard-unlocked")

	// The checklist and the pass: Space on each check, Enter on Issue.
	ana.tabTo("#check0", 40)
	ana.press(" ")
	ana.press(kb.Tab)
	ana.expectFocus("#check1")
	ana.press(" ")
	if !ana.checked("#check0") || !ana.checked("#check1") {
		t.Fatal("Space did not tick the checklist")
	}
	ana.tabTo("form.pass button[type=submit]", 5)
	ana.press(kb.Enter)
	ana.waitText("Shown once")
	if e := w.lastPassAudit("pat@example.com"); e.Details["verification"] != strings.Join(checklist, "; ") || e.Actor != "Ana Help" {
		t.Fatalf("the pass's audit entry: %+v", e)
	}
	ana.tabTo("#print", 20)

	// A lost key: a reader may not remove it; Ana's role may.
	rea.open("/console/person?upn=pat%40example.com")
	rea.click(`button[aria-label="Remove fido2 Lost key"]`)
	rea.waitText("The role reader may not")
	if ms, _ := w.st.ListMethods(ctx, "pat@example.com"); len(ms) != 1 {
		t.Fatalf("after the reader's refusal: %+v", ms)
	}
	ana.removeLostKey("pat@example.com")
	if ms, _ := w.st.ListMethods(ctx, "pat@example.com"); len(ms) != 0 {
		t.Fatalf("after the removal: %+v", ms)
	}
	if es, _ := w.st.ListAudit(ctx, store.AuditFilter{Target: "pat@example.com", Action: api.ActionDeleteMethod, Limit: 1}); len(es) != 1 || es[0].Actor != "Ana Help" {
		t.Fatalf("the removal's audit entry: %+v", es)
	}
}
