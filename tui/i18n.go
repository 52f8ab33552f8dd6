package tui

import (
	"fmt"
	"sort"
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

// S formats the message key with args.
func (t T) S(key string, args ...any) string {
	s, ok := catalogs[t.lang][key]
	if !ok {
		if s, ok = english[key]; !ok {
			return key
		}
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}
