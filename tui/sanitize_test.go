package tui

import (
	"strings"
	"testing"
)

func TestClean(t *testing.T) {
	cases := map[string]string{
		"Ada Lovelace":                  "Ada Lovelace",
		"Ada\x1b[2J\x1b[H Lovelace":     "Ada Lovelace",
		"\x1b]0;owned\x07Ada":           "Ada",
		"\x1b]8;;http://evil\x1b\\link": "link",
		"\u009b31mred":                  "red",
		"Ada\nLovelace\r\t!":            "Ada Lovelace  !",
		"evil\u202etxt.exe":             "evil txt.exe",
		"\x1bPdcs payload\x1b\\after":   "after",
		"trailing escape \x1b":          "trailing escape ",
		"unterminated \x1b[31":          "unterminated ",
		"Åsa Ödegård 😀":                 "Åsa Ödegård 😀",
		"\x1b_apc payload\x1b\\Ada":     "Ada", // SOS, PM, APC go whole too (they used to print their payload)
		"\x1bXsos payload\x1b\\Ada":     "Ada",
	}
	for in, want := range cases {
		if got := Clean(in, 100); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Clean(strings.Repeat("x", 500), 40); len([]rune(got)) != 40 {
		t.Errorf("not cut: %d", len(got))
	}
}
