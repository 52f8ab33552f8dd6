package staging

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the letters' golden files")

// TestLetterGolden: the text letter in each language, as a person reads
// it (go test ./staging -update rewrites testdata/letter-*.golden).
func TestLetterGolden(t *testing.T) {
	for _, lang := range LetterLanguages() {
		l := sampleLetter()
		l.Lang = lang
		got := renderText(l)
		path := filepath.Join("testdata", "letter-"+lang+".golden")
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test ./staging -update writes it)", err)
		}
		if got != string(want) {
			t.Errorf("%s letter differs from %s:\n%s", lang, path, got)
		}
	}
}

// TestSwedishLetter: the Swedish letter says everything in Swedish, the
// PDF too (å, ä and ö are in its code page), and a letter in no known
// language is English rather than message keys.
func TestSwedishLetter(t *testing.T) {
	l := sampleLetter()
	l.Lang = "sv"
	text := renderText(l)
	flat := strings.Join(strings.Fields(text), " ")
	for _, want := range []string{"Din säkerhetsnyckel", "Din PIN-kod", "6 tecken", "minst 6 tecken", "ring IT", "Omgång spring-2026", "förberedd 2026-03-01"} {
		if !strings.Contains(flat, want) {
			t.Errorf("Swedish letter lacks %q:\n%s", want, text)
		}
	}
	for _, english := range []string{"Your", "Keep this", "characters", "call IT"} {
		if strings.Contains(text, english) {
			t.Errorf("Swedish letter holds English %q", english)
		}
	}
	data, err := renderPDF(l)
	if err != nil {
		t.Fatal(err)
	}
	if pdf := pdfText(t, data); !strings.Contains(pdf, "("+cp1252(t, "Din PIN-kod")+")") || !strings.Contains(pdf, "("+cp1252(t, "Förvara brevet säkert")+")") {
		t.Error("the Swedish PDF lacks its headings")
	}
	l.Lang = "xx"
	if text := renderText(l); !strings.Contains(text, "Your security key") {
		t.Errorf("an unknown language:\n%s", text)
	}
}

func TestLetterLanguage(t *testing.T) {
	for _, c := range []struct{ person, batch, want string }{
		{"sv", "en", "sv"}, {"sv-SE", "en", "sv"}, {"SV_se", "en", "sv"}, {"fr", "sv", "sv"}, {"", "sv", "sv"}, {" en ", "sv", "en"},
	} {
		if got := LetterLanguage(c.person, c.batch); got != c.want {
			t.Errorf("LetterLanguage(%q, %q) = %q, want %q", c.person, c.batch, got, c.want)
		}
	}
	o := Options{PINs: RandomPINs, PINLength: 6, Alphabet: Digits, Letters: "/x", LetterFormat: Text, LetterLang: "fr"}
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "--letter-lang") {
		t.Fatalf("a letter language without a catalogue: %v", err)
	}
	o.LetterLang = "sv"
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
}
