// Package termtext makes text from outside (display names from a
// directory, error messages from a service, names in a CSV) safe to put on
// a terminal or into a file an operator may cat: without it a display
// name could clear the screen, retitle the window, hide a link or paint a
// fake prompt. The kiosk's screens and the staging letters both use it.
package termtext

import (
	"strings"
	"unicode"
)

// Strip removes terminal escape sequences whole: ESC and its two-character
// escapes, CSI up to its final byte, and the string controls OSC, DCS,
// SOS, PM and APC up to BEL or ST, each in its 7- and 8-bit form; a
// sequence cut off at the end goes too. Every other control character, the
// line and paragraph separators and the bidi controls (which can make a
// name read backwards) become a space, so words stay apart. Other format
// characters stay: emoji sequences need their joiners.
func Strip(s string) string {
	const (
		text      = iota
		escape    // after ESC
		csi       // parameters until a final byte 0x40-0x7e
		str       // OSC, DCS, SOS, PM, APC: until BEL or ST
		strEscape // ESC inside a string: ST if "\", the end either way
	)
	state := text
	var b strings.Builder
	for _, r := range s {
		switch state {
		case escape:
			switch r {
			case '[':
				state = csi
			case ']', 'P', 'X', '^', '_':
				state = str
			default:
				state = text // a two-character escape
			}
			continue
		case csi:
			if r >= 0x40 && r <= 0x7e {
				state = text
			}
			continue
		case str:
			switch r {
			case 0x07, 0x9c:
				state = text
			case 0x1b:
				state = strEscape
			}
			continue
		case strEscape:
			state = text
			continue
		}
		switch {
		case r == 0x1b:
			state = escape
		case r == 0x9b:
			state = csi
		case r == 0x90, r == 0x98, r == 0x9d, r == 0x9e, r == 0x9f:
			state = str
		case unicode.IsControl(r), unicode.In(r, unicode.Zl, unicode.Zp), unicode.Is(unicode.Bidi_Control, r):
			b.WriteRune(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
