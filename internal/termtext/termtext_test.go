package termtext

import "testing"

func TestStrip(t *testing.T) {
	for in, want := range map[string]string{
		"Ada Lovelace":                                "Ada Lovelace",
		"Ada\x1b[2J\x1b[H Lovelace":                   "Ada Lovelace",
		"\x1b]0;owned\x07Ada":                         "Ada",
		"\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\": "link",
		"\x1bPq#0;2;0;0;0\x1b\\Ada":                   "Ada",
		"\x1bXsos payload\x1b\\Ada":                   "Ada",
		"\x1b^pm payload\x1b\\Ada":                    "Ada",
		"\x1b_apc payload\x1b\\Ada":                   "Ada",
		"\u0098sos\u009cAda":                          "Ada",
		"\u009b31mred\u009b0m":                        "red",
		"\u009d0;title\u009cAda":                      "Ada",
		"\x1bcAda":                                    "Ada",
		"Ada\nLovelace\r\t!":                          "Ada Lovelace  !",
		"evil\u202etxt.exe":                           "evil txt.exe",
		"Ada\u2028Lovelace":                           "Ada Lovelace",
		"trailing escape \x1b":                        "trailing escape ",
		"unterminated \x1b[31":                        "unterminated ",
		"Åsa Ödegård 😀 👩\u200d💻":                      "Åsa Ödegård 😀 👩\u200d💻",
	} {
		if got := Strip(in); got != want {
			t.Errorf("Strip(%q) = %q, want %q", in, got, want)
		}
	}
}
