package tap

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxUPNLength is Entra ID's limit on a userPrincipalName.
const MaxUPNLength = 113

// MaxDisplayNameLength is Entra ID's limit on a user's displayName.
const MaxDisplayNameLength = 256

// NormalizeUPN trims surrounding space, puts the name in Unicode NFC (so an
// "é" typed as "e" and a combining accent is the same person) and checks
// the shape user@domain. It refuses invisible characters (zero-width,
// text-direction controls) and a part between dots or the @ that mixes
// Latin, Greek and Cyrillic letters, the usual look-alike trick (a
// Cyrillic "а" in "pаypal"). That is a mixed-script rule only: a name
// wholly in another script that looks like a Latin one is not caught (full
// UTS #39 confusable detection is not done). It keeps the case the admin
// typed; comparisons are case-insensitive (see UPNKey). Errors are short
// sentences fit to show a person.
func NormalizeUPN(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("is empty; use the form user@domain")
	}
	if !utf8.ValidString(s) {
		return "", errors.New("is not valid UTF-8")
	}
	s = norm.NFC.String(s)
	if n := utf8.RuneCountInString(s); n > MaxUPNLength {
		return "", fmt.Errorf("is %d characters long; the limit is %d", n, MaxUPNLength)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", errors.New("contains a control character")
		}
		if unicode.IsSpace(r) {
			return "", errors.New("contains a space; use the form user@domain")
		}
		if err := invisible(r); err != nil {
			return "", err
		}
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.Count(s, "@") != 1 {
		return "", errors.New("must have the form user@domain")
	}
	domain := s[at+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", errors.New("has a malformed domain; use the form user@example.com")
	}
	for _, label := range strings.FieldsFunc(s, func(r rune) bool { return r == '@' || r == '.' }) {
		if a, b, mixed := mixedScripts(label); mixed {
			return "", fmt.Errorf("mixes %s and %s letters in %q, as look-alike names do; write each part in one script", a, b, label)
		}
	}
	return s, nil
}

// invisible refuses a character that does not show but changes a name:
// zero-width characters and text-direction (bidi) controls.
func invisible(r rune) error {
	switch {
	case r == '\u200b', r == '\u200c', r == '\u200d', r == '\u2060', r == '\ufeff':
		return errors.New("contains an invisible zero-width character")
	case unicode.Is(unicode.Bidi_Control, r):
		return errors.New("contains a text-direction control character")
	}
	return nil
}

// lookAlikeScripts are the scripts whose letters pass for one another.
var lookAlikeScripts = []struct {
	name  string
	table *unicode.RangeTable
}{{"Latin", unicode.Latin}, {"Greek", unicode.Greek}, {"Cyrillic", unicode.Cyrillic}}

// mixedScripts reports the first two of lookAlikeScripts that label has
// letters of. Digits, punctuation and other scripts do not count.
func mixedScripts(label string) (first, second string, mixed bool) {
	for _, r := range label {
		for _, sc := range lookAlikeScripts {
			if !unicode.Is(sc.table, r) {
				continue
			}
			if first == "" {
				first = sc.name
			} else if sc.name != first {
				return first, sc.name, true
			}
		}
	}
	return "", "", false
}

// UPNKey is the case-folded form used to look a user up, so that
// Ada@Example.com and ada@example.com are one person, as in Entra.
func UPNKey(upn string) string { return strings.ToLower(strings.TrimSpace(upn)) }

// NormalizeDisplayName trims a person's display name, puts it in Unicode
// NFC and checks it with ValidDisplayName. Mixed scripts are allowed here
// (a Greek and a Latin name side by side is a real name); only UPNs, which
// identify the person, refuse them.
func NormalizeDisplayName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", errors.New("is not valid UTF-8")
	}
	s = norm.NFC.String(s)
	if err := ValidDisplayName(s); err != nil {
		return "", err
	}
	return s, nil
}

// ValidDisplayName refuses empty, over-long names and names holding control
// or escape characters, which would otherwise reach a kiosk's terminal, or
// invisible zero-width characters, which make two names that look alike
// differ.
func ValidDisplayName(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("is empty")
	}
	if !utf8.ValidString(s) {
		return errors.New("is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > MaxDisplayNameLength {
		return fmt.Errorf("is %d characters long; the limit is %d", n, MaxDisplayNameLength)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r) {
			return errors.New("contains a control or escape character")
		}
		if err := invisible(r); err != nil {
			return err
		}
	}
	return nil
}

// ValidGroupName allows printable names up to 256 characters.
func ValidGroupName(s string) error {
	if err := ValidDisplayName(s); err != nil {
		return fmt.Errorf("group name %w", err)
	}
	return nil
}

// MaxNameLength is the limit on the names of keys, kiosks and admin
// tokens, in characters (not bytes: "Sébastien's key" is 15).
const MaxNameLength = 64

// ValidName checks a key's, kiosk's or token's name: a valid display name
// of at most MaxNameLength characters.
func ValidName(s string) error {
	if err := ValidDisplayName(s); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(s); n > MaxNameLength {
		return fmt.Errorf("is %d characters long; the limit is %d", n, MaxNameLength)
	}
	return nil
}

// GenericKeyModel names a key whose model nobody could tell.
const GenericKeyModel = "Security key"

// maxModelInName keeps a default key name within MaxNameLength: the model,
// a space and a ten-character date.
const maxModelInName = MaxNameLength - 11

// DefaultKeyName is the name a key gets when the person gives none: its
// model (or GenericKeyModel) and the day, like "YubiKey 5 NFC 2026-12-01".
// The kiosk shows it as the suggestion and tapd applies it, so both use
// this one rule.
func DefaultKeyName(model string, now time.Time) string {
	m := strings.TrimSpace(model)
	if m == "" || ValidDisplayName(m) != nil {
		m = GenericKeyModel
	}
	if r := []rune(m); len(r) > maxModelInName {
		m = strings.TrimSpace(string(r[:maxModelInName]))
	}
	return m + " " + now.Format("2006-01-02")
}
