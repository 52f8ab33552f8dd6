package tui

import "github.com/tapkiosk/tapkiosk/internal/termtext"

// Clean makes text from the network (display names, method names, error
// messages) safe to draw (termtext.Strip: escape sequences removed whole,
// controls and bidi overrides as spaces), cut to max runes. Text that is
// cut ends in "…", so the reader knows there was more (issue 23 item 4).
func Clean(s string, max int) string {
	r := []rune(termtext.Strip(s))
	if len(r) > max && max > 0 {
		r = append(r[:max-1], '…')
	}
	return string(r)
}

// nameMax bounds a method's name from the directory on screen. A person's
// own key and method names are shown whole, wrapped (Entra allows longer
// names than the kiosk gives, tap.MaxNameLength); only a hostile length is
// cut, with "…".
const nameMax = 200
