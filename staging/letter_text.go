package staging

import (
	"strings"
	"unicode/utf8"
)

// The letter as plain text (Text): its content in lines of textWidth.

// textWidth fits A4 at 10-12 characters an inch with room for margins.
const textWidth = 72

// textPINPerLine is how many spaced-out PIN characters go on one line.
const textPINPerLine = 16

// renderText lays out a plain-text letter: the PIN spaced out so each
// character stands alone, with a row naming digit, small or capital letter
// under it when the PIN has letters (0/O and 1/l cannot occur in random
// PINs, but a typed one may hold them).
func renderText(l Letter) string {
	c := l.content()
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\n") }
	if c.org != "" {
		line(c.org)
		line("")
	}
	line(c.title)
	line(strings.Repeat("=", utf8.RuneCountInString(c.title)))
	line("")
	// The labels' column fits the longest label in the letter's language.
	lw := 12
	for _, d := range c.details {
		lw = max(lw, utf8.RuneCountInString(d[0])+3)
	}
	for _, d := range c.details {
		for i, w := range wrap(d[1], textWidth-lw) {
			label := ""
			if i == 0 {
				label = d[0] + ":"
			}
			line(label + strings.Repeat(" ", lw-utf8.RuneCountInString(label)) + w)
		}
	}
	line("")
	line(c.w.s("yourPIN"))
	line(strings.Repeat("-", utf8.RuneCountInString(c.w.s("yourPIN"))))
	line("")
	symbol := map[string]string{"digit": "9", "small": "a", "capital": "A", "": "-"}
	for i := 0; i < len(c.pin); i += textPINPerLine {
		end := min(i+textPINPerLine, len(c.pin))
		line("    " + strings.Join(c.pin[i:end], "   "))
		if c.kinds != nil {
			var k []string
			for _, kind := range c.kinds[i:end] {
				k = append(k, symbol[kind])
			}
			line("    " + strings.Join(k, "   "))
		}
		line("")
	}
	line(c.pinNote)
	if c.kinds != nil {
		line(c.w.s("kindsNote"))
	}
	for _, s := range c.sections {
		line("")
		line(s.title)
		line(strings.Repeat("-", utf8.RuneCountInString(s.title)))
		for _, p := range s.paras {
			for _, w := range wrap(p, textWidth) {
				line(w)
			}
		}
	}
	if c.footer != "" {
		line("")
		line(c.footer)
	}
	return b.String()
}

// wrap breaks s into lines of at most width characters at spaces (a word
// longer than width stands on its own line).
func wrap(s string, width int) []string {
	var lines []string
	cur := ""
	for _, w := range strings.Fields(s) {
		switch {
		case cur == "":
			cur = w
		case utf8.RuneCountInString(cur)+1+utf8.RuneCountInString(w) <= width:
			cur += " " + w
		default:
			lines = append(lines, cur)
			cur = w
		}
	}
	if cur != "" || len(lines) == 0 {
		lines = append(lines, cur)
	}
	return lines
}
