package tui

import (
	"strings"
	"testing"
)

// TestCatalogsAgree keeps every language complete: same keys, same
// formatting verbs in the same order.
func TestCatalogsAgree(t *testing.T) {
	verbs := func(s string) string {
		var out []string
		for i := 0; i < len(s)-1; i++ {
			if s[i] == '%' {
				out = append(out, s[i:i+2])
				i++
			}
		}
		return strings.Join(out, ",")
	}
	for lang, cat := range catalogs {
		for k, v := range english {
			got, ok := cat[k]
			if !ok {
				t.Errorf("%s lacks %q", lang, k)
				continue
			}
			if verbs(got) != verbs(v) {
				t.Errorf("%s %q: verbs %q, English has %q", lang, k, verbs(got), verbs(v))
			}
		}
		for k := range cat {
			if _, ok := english[k]; !ok {
				t.Errorf("%s has %q, which English lacks", lang, k)
			}
		}
	}
	if _, err := NewT("xx"); err == nil {
		t.Fatal("unknown language accepted")
	}
	tr, _ := NewT("sv")
	if tr.S("no.such.key") != "no.such.key" || tr.S("pin.retries", 3) != "3 försök kvar." {
		t.Fatal("lookup")
	}
}
