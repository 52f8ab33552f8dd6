package tui

import (
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

// cutDate is a line that ends inside a date ("2026-12-" / "07").
var cutDate = regexp.MustCompile(`\d{4}-(\d{2}-)?$`)

// Issue 23 item 4: at 60x20, in both languages, a person's own method
// names and their facts wrap under themselves at clean-up, never cut, and
// no line ends inside a date.
func TestCleanupWrapsNamesAt60x20(t *testing.T) {
	for _, lang := range []string{"en", "sv"} {
		h := newHarness(t)
		used := t0.Add(-3 * 24 * time.Hour)
		h.svc.methods[1].DisplayName = "Ada's old blue YubiKey from the London office 2026-12-07"
		h.svc.methods[1].Model = "YubiKey 5C NFC"
		h.svc.methods[1].LastUsedDateTime = &used
		h.m.Update(tea.WindowSizeMsg{Width: 60, Height: 20})
		h.toName()
		if lang == "sv" {
			h.press("ctrl+l")
		}
		h.press("enter", "enter", "enter") // the touch, the check, no backup key
		s := h.screen()
		flat := strings.Join(strings.Fields(s), " ")
		if !strings.Contains(flat, h.svc.methods[1].DisplayName) {
			t.Errorf("%s: the name is cut:\n%s", lang, s)
		}
		if want := map[string]string{"en": "last used", "sv": "senast använd"}[lang]; !strings.Contains(flat, want) {
			t.Errorf("%s: the facts are cut:\n%s", lang, s)
		}
		for i, l := range strings.Split(s, "\n") {
			if cutDate.MatchString(strings.TrimRight(l, " ")) {
				t.Errorf("%s: line %d ends inside a date: %q", lang, i+1, l)
			}
			if strings.Contains(l, "…") && i > 0 {
				t.Errorf("%s: line %d is cut: %q", lang, i+1, l)
			}
		}
	}
}

// Issue 23 item 4: a key's name breaks at its spaces, never inside its date.
func TestParaKeepsDatesWhole(t *testing.T) {
	st := newStyles("plain", true)
	for w := 12; w < 40; w++ {
		out := para(st.body, `Your key "YubiKey 5 NFC 2026-12-07" is registered.`, w)
		if !strings.Contains(out, "2026-12-07") || strings.Contains(out, "\u2011") {
			t.Fatalf("width %d:\n%s", w, out)
		}
	}
}

// Issue 23 item 4: a point of "Sign out now?" that wraps hangs under its
// own text, not under the bullet.
func TestSignOutBulletsHang(t *testing.T) {
	for _, lang := range []string{"en", "sv"} {
		h := newHarness(t)
		h.m.Update(tea.WindowSizeMsg{Width: 60, Height: 20})
		if lang == "sv" {
			h.press("ctrl+l")
		}
		h.m.j.PassOnce = true
		h.press("enter", "ada@example.com", "enter", "passpass", "enter", "ctrl+x")
		lines := strings.Split(h.screen(), "\n")
		in, wrapped := false, 0
		for _, l := range lines {
			tl := strings.TrimLeft(l, " ")
			switch {
			case strings.HasPrefix(tl, "• "):
				in = true
			case in && tl != "" && !strings.HasPrefix(tl, "•"):
				if !strings.HasPrefix(l, "    ") || l[4] == ' ' {
					t.Errorf("%s: %q does not hang under its text", lang, l)
				}
				wrapped++
			case tl == "":
				in = false
			}
		}
		if wrapped == 0 {
			t.Fatalf("%s: no point wrapped at 60 columns:\n%s", lang, strings.Join(lines, "\n"))
		}
	}
}
