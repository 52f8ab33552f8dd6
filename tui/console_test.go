package tui

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// TestEverySymbolHasAnASCIIStandIn: every symbol beyond Latin-1 in the
// kiosk's own text (screens and catalogues) has a one-character ASCII
// stand-in for the Linux console, so a new glyph cannot slip past it.
func TestEverySymbolHasAnASCIIStandIn(t *testing.T) {
	var have []rune
	for i := 0; i < len(asciiPairs); i += 2 {
		have = append(have, []rune(asciiPairs[i])[0])
		if r := []rune(asciiPairs[i+1]); len(r) != 1 || r[0] > 0x7f {
			t.Errorf("%q's stand-in %q is not one ASCII character", asciiPairs[i], asciiPairs[i+1])
		}
	}
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range string(src) {
			if r > 0xff && (unicode.IsSymbol(r) || unicode.IsPunct(r)) && !slices.Contains(have, r) && r != '’' && r != '“' && r != '”' && r != '–' && r != '—' {
				t.Errorf("%s draws %q, which has no ASCII stand-in in asciiPairs", f, r)
			}
		}
	}
}

// TestASCIIScreens: with ASCII on, a screen with a prompt and a check
// mark draws neither, and keeps its width.
func TestASCIIScreens(t *testing.T) {
	m, err := New(Config{Org: "Contoso", Theme: "plain", ASCII: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := m.Render()
	for _, r := range out {
		if r > 0xff {
			t.Fatalf("%q drawn on the console:\n%s", r, out)
		}
	}
	u, _ := New(Config{Org: "Contoso", Theme: "plain"}, nil)
	if len(strings.Split(out, "\n")) != len(strings.Split(u.Render(), "\n")) {
		t.Fatal("the ASCII screen has another shape")
	}
}
