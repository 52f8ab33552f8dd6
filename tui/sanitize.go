package tui

import (
	"strings"
	"unicode"
)

// Clean makes text from the network (display names, method names, error
// messages) safe to draw: escape sequences are removed whole, other
// control and bidi-override characters become spaces, and the result is
// cut to max runes. Without it a display name could clear the screen,
// retitle the window or paint a fake prompt.
func Clean(s string, max int) string {
	var b strings.Builder
	runes := []rune(s)
	n := 0
	for i := 0; i < len(runes) && n < max; i++ {
		r := runes[i]
		if r == 0x1b || r == 0x9b || r == 0x9d || r == 0x90 {
			i = skipEscape(runes, i)
			continue
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// skipEscape returns the index of the last rune of the escape sequence
// starting at i (ESC, CSI, OSC or DCS, in 7- or 8-bit form).
func skipEscape(r []rune, i int) int {
	kind := r[i]
	if kind == 0x1b {
		if i+1 >= len(r) {
			return i
		}
		switch r[i+1] {
		case '[':
			kind, i = 0x9b, i+1
		case ']':
			kind, i = 0x9d, i+1
		case 'P':
			kind, i = 0x90, i+1
		default:
			return i + 1 // two-character escape
		}
	}
	for j := i + 1; j < len(r); j++ {
		switch kind {
		case 0x9b: // CSI ends with a final byte 0x40-0x7e
			if r[j] >= 0x40 && r[j] <= 0x7e {
				return j
			}
		default: // OSC and DCS end with BEL or ST (ESC \)
			if r[j] == 0x07 || r[j] == 0x9c {
				return j
			}
			if r[j] == 0x1b && j+1 < len(r) && r[j+1] == '\\' {
				return j + 1
			}
		}
	}
	return len(r) - 1
}
