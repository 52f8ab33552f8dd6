package tui

import "github.com/tapkiosk/tapkiosk/internal/termtext"

// Clean makes text from the network (display names, method names, error
// messages) safe to draw (termtext.Strip: escape sequences removed whole,
// controls and bidi overrides as spaces), cut to max runes.
func Clean(s string, max int) string {
	r := []rune(termtext.Strip(s))
	if len(r) > max {
		r = r[:max]
	}
	return string(r)
}
