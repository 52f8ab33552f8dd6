package staging

import (
	"strings"
	"unicode"

	"github.com/tapkiosk/tapkiosk/internal/termtext"
	"github.com/tapkiosk/tapkiosk/tap"
)

// The letter's content: what it says, in the person's language, for
// either rendering (renderText, renderPDF).

// clean makes a name from the directory safe to print or to show when an
// operator cats a text letter in a terminal: termtext.Strip (escape
// sequences gone whole, controls as spaces), then the invisible format
// characters (zero width, byte order marks) go too, since a letter is
// read by eye; runs of space shrink to one, and the result is cut to max
// characters with "…".
func clean(s string, max int) string {
	stripped := termtext.Strip(strings.ToValidUTF8(s, "?"))
	out := strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if unicode.In(r, unicode.Cf) {
			return -1
		}
		return r
	}, stripped)), " ")
	if r := []rune(out); len(r) > max {
		out = string(r[:max-1]) + "…"
	}
	return out
}

// Field limits for a letter: enough for any real value, short enough that
// the letter stays one page.
const (
	maxOrg    = 80
	maxBatch  = 64
	maxPerson = 80
	maxSerial = 40
)

// content is a letter's wording, shared by the text and PDF layouts so the
// two always say the same.
type content struct {
	w        words
	org      string
	title    string
	details  [][2]string // label, value
	pin      []string    // one string a character
	kinds    []string    // "digit", "small", "capital" (or "") under each; nil for an all-digit PIN
	pinNote  string
	sections []section
	footer   string
}

type section struct {
	title string
	paras []string
}

func (l Letter) content() content {
	w := wordsFor(l.Lang)
	c := content{w: w, org: clean(l.Org, maxOrg), title: w.s("title")}
	add := func(label, value string) {
		if value != "" {
			c.details = append(c.details, [2]string{label, value})
		}
	}
	add(w.s("for"), clean(l.DisplayName, maxPerson))
	add(w.s("account"), clean(l.UPN, tap.MaxUPNLength))
	add(w.s("keyName"), clean(l.KeyName, tap.MaxNameLength))
	add(w.s("model"), clean(l.Model, tap.MaxNameLength))
	add(w.s("serial"), clean(l.Serial, maxSerial))

	letters := false
	for _, r := range l.PIN {
		c.pin = append(c.pin, string(r))
		switch {
		case unicode.IsDigit(r):
			c.kinds = append(c.kinds, "digit")
		case unicode.IsLower(r):
			c.kinds, letters = append(c.kinds, "small"), true
		case unicode.IsUpper(r):
			c.kinds, letters = append(c.kinds, "capital"), true
		default:
			c.kinds, letters = append(c.kinds, ""), true
		}
	}
	if !letters {
		c.kinds = nil
	}
	c.pinNote = w.s("pinNote", len(c.pin))

	minLen := max(l.MinPINLength, PINLengthMin)
	use := section{title: w.s("use.title"), paras: []string{w.s("use.1"), w.s("use.2"), w.s("use.3"), w.s("use.4")}}
	change := section{title: w.s("change.title"), paras: []string{w.s("change.kept", minLen)}}
	if l.ChangeForced {
		change.paras = []string{w.s("change.forced", minLen)}
	}
	keep := section{title: w.s("keep.title"), paras: []string{w.s("keep.1"), w.s("keep.2"), w.s("keep.3")}}
	if l.LiveAtOnce {
		keep.paras = append(keep.paras, w.s("keep.live"))
	}
	c.sections = []section{use, change, keep}

	var foot []string
	if b := clean(l.Batch, maxBatch); b != "" {
		foot = append(foot, w.s("footer.batch", b))
	}
	if !l.Time.IsZero() {
		foot = append(foot, w.s("footer.staged", l.Time.Format("2006-01-02 15:04 MST")))
	}
	c.footer = strings.Join(foot, ", ")
	return c
}
