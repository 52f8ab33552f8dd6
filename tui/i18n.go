package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Catalog maps message keys to text in one language. Adding a language is
// one file with one Catalog registered in catalogs.
type Catalog map[string]string

var catalogs = map[string]Catalog{"en": english, "sv": swedish}

// Languages lists the languages the kiosk speaks.
func Languages() []string {
	var out []string
	for k := range catalogs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// T is one language's translator. Missing keys fall back to English, then
// to the key itself, so a gap shows up as text rather than a crash.
type T struct{ lang string }

// NewT returns the translator for lang, or an error naming the languages.
func NewT(lang string) (T, error) {
	if _, ok := catalogs[lang]; !ok {
		return T{}, fmt.Errorf("language %q is not available; choose one of %v", lang, Languages())
	}
	return T{lang: lang}, nil
}

// S formats the message key with args. A message that depends on a
// count has two entries, KEY.one and KEY.other; S picks by its first
// argument (an int), so nothing reads "1 tries". A message with no
// formatting verb is said as it is: the .one form may leave the count
// out ("Remove this method?", not "Remove this 1 method?").
func (t T) S(key string, args ...any) string {
	if len(args) > 0 {
		if n, ok := args[0].(int); ok && t.Has(key+".one") {
			key += plural(n)
		}
	}
	s, ok := catalogs[t.lang][key]
	if !ok {
		if s, ok = english[key]; !ok {
			return key
		}
	}
	if len(args) == 0 || !strings.Contains(s, "%") {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// plural is the form for n. English and Swedish both have one for 1 and
// another for the rest; a language with more forms would add a rule here.
func plural(n int) string {
	if n == 1 || n == -1 {
		return ".one"
	}
	return ".other"
}

// Has reports whether the catalogue (or English) has key.
func (t T) Has(key string) bool {
	if _, ok := catalogs[t.lang][key]; ok {
		return true
	}
	_, ok := english[key]
	return ok
}

// Dur says a duration as a person would: "1 minute", "90 seconds".
func (t T) Dur(d time.Duration) string {
	if d >= time.Minute && d%time.Minute == 0 {
		return t.S("dur.minutes", int(d/time.Minute))
	}
	return t.S("dur.seconds", int(d.Round(time.Second)/time.Second))
}
