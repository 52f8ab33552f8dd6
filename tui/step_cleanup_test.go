package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/flows"
)

// TestMethodWithoutADate: Entra gives no creation date for phones, email
// and OATH apps; the kiosk must not say "added 0001-01-01".
func TestMethodWithoutADate(t *testing.T) {
	m, err := New(Config{Org: "Contoso", Theme: "plain"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	phone := api.AuthenticationMethod{Type: api.MethodType("phone"), ID: "p", DisplayName: "+46 •• ••• •• 67"}
	for _, s := range []string{m.methodLabel(phone), m.methodFacts(phone)} {
		if strings.Contains(s, "0001") || strings.Contains(s, "added") {
			t.Errorf("%q shows a date Graph never gave", s)
		}
	}
	phone.CreatedDateTime = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	if !strings.Contains(m.methodLabel(phone), "added 2025-03-01") {
		t.Errorf("a known date is left out: %q", m.methodLabel(phone))
	}
}

// atCleanup walks to clean-up in lang, with the lost key named as the
// demo names its keys (the longest line clean-up draws).
func atCleanup(t *testing.T, lang string) *harness {
	t.Helper()
	h := newHarness(t)
	h.svc.methods[1].DisplayName = "tapkiosk virtual key 2026-12-01"
	h.toName()
	if lang == "sv" {
		h.press("ctrl+l")
	}
	h.press("enter", "enter", "enter") // the touch, the check, no backup key
	if h.step() != flows.StepCleanup {
		t.Fatal(h.step())
	}
	return h
}

// Clean-up in Swedish: the confirmation asks in the singular for one
// method and takes J (ja) as well as Y, and the result is wrapped, not
// cut. English takes Y and y, not J.
func TestCleanupConfirmInBothLanguages(t *testing.T) {
	h := atCleanup(t, "sv")
	h.press("space", "enter")
	s := h.screen()
	if !strings.Contains(s, "Ta bort den här metoden?") || !strings.Contains(s, "Tryck J för att ta bort") || !strings.Contains(s, "j ta bort") {
		t.Fatalf("the Swedish confirmation:\n%s", s)
	}
	h.press("j")
	s = h.screen()
	if len(h.svc.deleted) != 1 || !strings.Contains(strings.Join(strings.Fields(s), " "),
		`✓ Borttagen: Säkerhetsnyckel "tapkiosk virtual key 2026-12-01" · tillagd 2025-10-19`) {
		t.Fatalf("J did not remove, or the result is cut (deleted %v):\n%s", h.svc.deleted, s)
	}
	h = atCleanup(t, "sv")
	h.press("space", "enter", "Y")
	if len(h.svc.deleted) != 1 {
		t.Fatal("Y no longer removes in Swedish")
	}

	h = atCleanup(t, "en")
	h.press("space", "enter")
	if s := h.screen(); !strings.Contains(s, "Remove this method?") || strings.Contains(s, "this 1") {
		t.Fatalf("the English confirmation:\n%s", s)
	}
	h.press("j")
	if len(h.svc.deleted) != 0 || !h.m.confirming {
		t.Fatal("J removed in English")
	}
	h.press("Y")
	if len(h.svc.deleted) != 1 {
		t.Fatal("Y did not remove")
	}
}

// The Swedish catalogue names the Temporary Access Pass one way:
// "tillfälligt åtkomstpass", short "åtkomstpass", one-time "engångspass";
// never "passerkort", which reads as a physical badge.
func TestSwedishNamesThePassOneWay(t *testing.T) {
	for k, v := range swedish {
		l := strings.ToLower(v)
		if strings.Contains(l, "passerkort") || strings.Contains(l, "engångskort") || strings.Contains(l, "engångskod") {
			t.Errorf("%s: %q", k, v)
		}
		if strings.Contains(english[k], "Temporary Access Pass") && !strings.Contains(l, "tillfälligt åtkomstpass") &&
			!strings.Contains(l, "tillfälliga åtkomstpass") {
			t.Errorf("%s names the pass otherwise: %q", k, v)
		}
	}
}
