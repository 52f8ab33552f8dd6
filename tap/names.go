package tap

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxUPNLength is Entra ID's limit on a userPrincipalName.
const MaxUPNLength = 113

// MaxDisplayNameLength is Entra ID's limit on a user's displayName.
const MaxDisplayNameLength = 256

// NormalizeUPN trims surrounding space and checks the shape user@domain. It
// keeps the case the admin typed; comparisons are case-insensitive (see
// UPNKey). Errors are short sentences fit to show a person.
func NormalizeUPN(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("is empty; use the form user@domain")
	}
	if !utf8.ValidString(s) {
		return "", errors.New("is not valid UTF-8")
	}
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
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.Count(s, "@") != 1 {
		return "", errors.New("must have the form user@domain")
	}
	domain := s[at+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", errors.New("has a malformed domain; use the form user@example.com")
	}
	return s, nil
}

// UPNKey is the case-folded form used to look a user up, so that
// Ada@Example.com and ada@example.com are one person, as in Entra.
func UPNKey(upn string) string { return strings.ToLower(strings.TrimSpace(upn)) }

// ValidDisplayName refuses empty, over-long names and names holding control
// or escape characters, which would otherwise reach a kiosk's terminal.
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
