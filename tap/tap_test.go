package tap

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func TestPolicyRanges(t *testing.T) {
	base := DefaultPolicy()
	if err := base.Validate(); err != nil {
		t.Fatalf("default policy invalid: %v", err)
	}
	cases := []struct {
		name  string
		patch PolicyPatch
		field string // "" means valid
	}{
		{"enable", PolicyPatch{State: ptr("enabled")}, ""},
		{"bad state", PolicyPatch{State: ptr("on")}, "state"},
		{"min below", PolicyPatch{MinimumLifetimeInMinutes: ptr(9)}, "minimumLifetimeInMinutes"},
		{"min at floor", PolicyPatch{MinimumLifetimeInMinutes: ptr(10), DefaultLifetimeInMinutes: ptr(10)}, ""},
		{"max above", PolicyPatch{MaximumLifetimeInMinutes: ptr(43201)}, "maximumLifetimeInMinutes"},
		{"max at ceiling", PolicyPatch{MaximumLifetimeInMinutes: ptr(43200)}, ""},
		{"max below min", PolicyPatch{MinimumLifetimeInMinutes: ptr(120), MaximumLifetimeInMinutes: ptr(100), DefaultLifetimeInMinutes: ptr(110)}, "maximumLifetimeInMinutes"},
		{"default below min", PolicyPatch{DefaultLifetimeInMinutes: ptr(59)}, "defaultLifetimeInMinutes"},
		{"default above max", PolicyPatch{DefaultLifetimeInMinutes: ptr(481)}, "defaultLifetimeInMinutes"},
		{"length 7", PolicyPatch{DefaultLength: ptr(7)}, "defaultLength"},
		{"length 49", PolicyPatch{DefaultLength: ptr(49)}, "defaultLength"},
		{"length 48", PolicyPatch{DefaultLength: ptr(48)}, ""},
		{"bad target type", PolicyPatch{IncludeTargets: &[]Target{{TargetType: "role", ID: "x"}}}, "includeTargets[0].targetType"},
		{"bad target user", PolicyPatch{ExcludeTargets: &[]Target{{TargetType: "user", ID: "no at sign"}}}, "excludeTargets[0].id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := base.Apply(c.patch)
			if c.field == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("want error on %s, got %v", c.field, err)
			}
			if got.State != base.State || got.MinimumLifetimeInMinutes != base.MinimumLifetimeInMinutes {
				t.Fatalf("a failed patch changed the policy")
			}
		})
	}
	_, err := base.Apply(PolicyPatch{MinimumLifetimeInMinutes: ptr(5)})
	if !strings.Contains(err.Error(), "between 10 and 43200") {
		t.Fatalf("range not named in %q", err)
	}
}

func TestTargets(t *testing.T) {
	p := DefaultPolicy()
	ada := Member{UPN: "ada@example.com", Groups: []string{"Engineering"}}
	bob := Member{UPN: "bob@example.com", Groups: []string{"Sales"}}
	if !p.Targets(ada) || !p.Targets(bob) {
		t.Fatal("all_users should target everyone")
	}
	p.IncludeTargets = []Target{{TargetType: "group", ID: "engineering"}}
	if !p.Targets(ada) || p.Targets(bob) {
		t.Fatal("group include is wrong")
	}
	p.IncludeTargets = []Target{{TargetType: "group", ID: AllUsers}}
	p.ExcludeTargets = []Target{{TargetType: "user", ID: "ADA@example.com"}}
	if p.Targets(ada) || !p.Targets(bob) {
		t.Fatal("exclude must win over include")
	}
}

func TestNormalizeUPN(t *testing.T) {
	good := map[string]string{
		"  ada@example.com ":           "ada@example.com",
		"Ada.Lovelace@Sub.Example.org": "Ada.Lovelace@Sub.Example.org",
	}
	for in, want := range good {
		got, err := NormalizeUPN(in)
		if err != nil || got != want {
			t.Errorf("NormalizeUPN(%q) = %q, %v", in, got, err)
		}
	}
	bad := []string{"", "ada", "ada@", "@example.com", "ada@example", "a da@example.com", "ada@exa\x1bmple.com",
		"ada\t@example.com", "ada@@example.com", "ada@example..com", "\xff@example.com",
		strings.Repeat("a", 102) + "@example.com"}
	for _, in := range bad {
		if _, err := NormalizeUPN(in); err == nil {
			t.Errorf("NormalizeUPN(%q) accepted", in)
		}
	}
	if _, err := NormalizeUPN(strings.Repeat("a", 101) + "@example.com"); err != nil {
		t.Errorf("113 characters should be allowed: %v", err)
	}
}

func TestValidDisplayName(t *testing.T) {
	if err := ValidDisplayName("Ada Lovelace (Engineering)"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"", "   ", "Ada\x1b[2J", "Ada\u202eecalevoL", "Ada\nLovelace", strings.Repeat("x", 257)} {
		if ValidDisplayName(s) == nil {
			t.Errorf("accepted %q", s)
		}
	}
}

// normCase is one input to a normalising check: want is the result, or
// err a part of the refusal's message.
type normCase struct{ name, in, want, err string }

func checkNormalize(t *testing.T, fnName string, fn func(string) (string, error), cases []normCase) {
	t.Helper()
	for _, c := range cases {
		got, err := fn(c.in)
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("%s: %s(%q) = %q, %v; want %q", c.name, fnName, c.in, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: %s(%q) = %q, %v; want an error with %q", c.name, fnName, c.in, got, err, c.err)
		}
	}
}

// TestNormalizeUPNUnicode: NFC, no invisible characters, and no part that
// mixes Latin, Greek and Cyrillic letters.
func TestNormalizeUPNUnicode(t *testing.T) {
	checkNormalize(t, "NormalizeUPN", NormalizeUPN, []normCase{
		{"NFD becomes NFC", "rene\u0301@example.com", "ren\u00e9@example.com", ""},
		{"NFC stays", "ren\u00e9@example.com", "ren\u00e9@example.com", ""},
		{"all Cyrillic", "\u0438\u0432\u0430\u043d@example.com", "\u0438\u0432\u0430\u043d@example.com", ""},
		{"all Greek local part, Latin domain", "\u03b6\u03c9\u03ae@example.com", "\u03b6\u03c9\u03ae@example.com", ""},
		{"digits and dashes with Cyrillic", "\u0438\u0432\u0430\u043d-42@example.com", "\u0438\u0432\u0430\u043d-42@example.com", ""},
		{"Han beside Latin is not a look-alike", "tanaka\u7530\u4e2d@example.com", "tanaka\u7530\u4e2d@example.com", ""},
		{"zero-width space", "ada\u200b@example.com", "", "zero-width"},
		{"zero-width non-joiner", "ad\u200ca@example.com", "", "zero-width"},
		{"zero-width joiner", "ada@exa\u200dmple.com", "", "zero-width"},
		{"word joiner", "ada\u2060@example.com", "", "zero-width"},
		{"byte order mark", "\ufeffada@example.com", "", "zero-width"},
		{"right-to-left override", "ada\u202e@example.com", "", "text-direction"},
		{"left-to-right mark", "ada\u200e@example.com", "", "text-direction"},
		{"Cyrillic a in a Latin local part", "ad\u0430@example.com", "", "mixes Latin and Cyrillic"},
		{"Cyrillic o in a Latin domain", "ada@ex\u0430mple.com", "", "mixes Latin and Cyrillic letters in \"ex\u0430mple\""},
		{"Greek omicron among Latin", "b\u03bfb@example.com", "", "mixes Latin and Greek"},
		{"Cyrillic and Greek", "\u0438\u03b1@example.com", "", "mixes Cyrillic and Greek"},
	})
}

// TestNormalizeDisplayName: NFC, no zero-width or direction controls, but
// mixed scripts are a real person's name.
func TestNormalizeDisplayName(t *testing.T) {
	checkNormalize(t, "NormalizeDisplayName", NormalizeDisplayName, []normCase{
		{"NFD becomes NFC", "  Rene\u0301e Dupont ", "Ren\u00e9e Dupont", ""},
		{"Greek and Latin", "\u039d\u03af\u03ba\u03bf\u03c2 Papadopoulos", "\u039d\u03af\u03ba\u03bf\u03c2 Papadopoulos", ""},
		{"Cyrillic and Latin", "\u0418\u0432\u0430\u043d (Ivan) Petrov", "\u0418\u0432\u0430\u043d (Ivan) Petrov", ""},
		{"zero-width space", "Ada\u200b Lovelace", "", "zero-width"},
		{"zero-width joiner", "Ada\u200dLovelace", "", "zero-width"},
		{"word joiner", "Ada\u2060", "", "zero-width"},
		{"byte order mark", "\ufeffAda", "", "zero-width"},
		{"right-to-left override", "Ada\u202eecalevoL", "", "control"},
		{"right-to-left isolate", "Ada \u2067x\u2069", "", "control"},
		{"escape", "Ada\x1b[2J", "", "control"},
		{"empty", " ", "", "empty"},
	})
	// Kiosk, token and key names and group names refuse zero-width too.
	if ValidName("lobby\u200b") == nil || ValidGroupName("Engineering\ufeff") == nil {
		t.Error("a zero-width character was accepted in a name")
	}
}

func TestGeneratePass(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		p, err := GeneratePass(8)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != 8 || strings.ContainsAny(p, "0O1lI") {
			t.Fatalf("bad pass %q", p)
		}
		if seen[p] {
			t.Fatalf("repeat %q", p)
		}
		seen[p] = true
	}
	if _, err := GeneratePass(7); err == nil {
		t.Fatal("length 7 accepted")
	}
	if p, _ := GeneratePass(48); len(p) != 48 {
		t.Fatal("length 48")
	}
}

// cheap keeps unit tests fast; the real cost is measured by the benchmark.
var cheap = Argon2Params{Memory: 64, Time: 1, Threads: 1}

func TestHashVerify(t *testing.T) {
	h, err := HashPass("Secret-Pass-1", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h, "Secret-Pass-1") || !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q", h)
	}
	h2, _ := HashPass("Secret-Pass-1", cheap)
	if h == h2 {
		t.Fatal("salt not random")
	}
	if ok, err := VerifyPass(h, "Secret-Pass-1"); !ok || err != nil {
		t.Fatalf("right pass refused: %v", err)
	}
	if ok, _ := VerifyPass(h, "Secret-Pass-2"); ok {
		t.Fatal("wrong pass accepted")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=64,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=0,t=1,p=1$AAAA$AAAA",
		"$argon2id$v=19$m=64,t=1,p=1$!!$AAAA", "$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAA"} {
		if _, err := VerifyPass(bad, "x"); err == nil {
			t.Errorf("malformed hash %q accepted", bad)
		}
	}
}

func TestUsability(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	p := DefaultPolicy()
	p.State = "enabled"
	m := Member{UPN: "ada@example.com"}
	s := PassState{Start: now.Add(-time.Minute), LifetimeMinutes: 60}
	check := func(name string, p Policy, s PassState, at time.Time, want string) {
		t.Helper()
		ok, reason := Usability(p, m, s, at)
		if reason != want || ok != (want == EnabledByPolicy) {
			t.Errorf("%s: got %v %s, want %s", name, ok, reason, want)
		}
	}
	check("usable", p, s, now, EnabledByPolicy)
	check("not yet", p, PassState{Start: now.Add(time.Minute), LifetimeMinutes: 60}, now, NotYetValid)
	check("expired at end", p, s, s.End(), Expired)
	check("one minute before end", p, s, s.End().Add(-time.Second), EnabledByPolicy)
	check("one-time used", p, PassState{Start: s.Start, LifetimeMinutes: 60, IsUsableOnce: true, Used: true}, now, OneTimeUsed)
	check("multi-use used", p, PassState{Start: s.Start, LifetimeMinutes: 60, Used: true}, now, EnabledByPolicy)
	d := p
	d.State = "disabled"
	check("disabled", d, s, now, DisabledByPolicy)
	ex := p
	ex.ExcludeTargets = []Target{{TargetType: "user", ID: m.UPN}}
	check("excluded", ex, s, now, DisabledByPolicy)
}

func TestResolvePass(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	p := DefaultPolicy()
	s, err := ResolvePass(p, PassRequest{}, now)
	if err != nil || s.LifetimeMinutes != 60 || !s.Start.Equal(now) || s.IsUsableOnce {
		t.Fatalf("defaults: %+v %v", s, err)
	}
	if _, err := ResolvePass(p, PassRequest{LifetimeMinutes: ptr(481)}, now); err == nil || !strings.Contains(err.Error(), "between 60 and 480") {
		t.Fatalf("lifetime range: %v", err)
	}
	start := now.Add(2 * time.Hour)
	s, err = ResolvePass(p, PassRequest{Start: &start, LifetimeMinutes: ptr(120), IsUsableOnce: ptr(true)}, now)
	if err != nil || !s.Start.Equal(start) || s.LifetimeMinutes != 120 || !s.IsUsableOnce {
		t.Fatalf("explicit: %+v %v", s, err)
	}
	past := now.Add(-time.Hour)
	if _, err := ResolvePass(p, PassRequest{Start: &past}, now); err == nil {
		t.Fatal("past start accepted")
	}
	p.IsUsableOnce = true
	s, _ = ResolvePass(p, PassRequest{IsUsableOnce: ptr(false)}, now)
	if !s.IsUsableOnce {
		t.Fatal("policy isUsableOnce must force one-time passes")
	}
}

func BenchmarkVerifyPass(b *testing.B) {
	h, err := HashPass("Kq7mZp2x", DefaultArgon2)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := VerifyPass(h, "Kq7mZp2x"); !ok {
			b.Fatal("mismatch")
		}
	}
}

func TestDefaultKeyName(t *testing.T) {
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	for model, want := range map[string]string{"YubiKey 5": "YubiKey 5 2026-11-23", "": "Security key 2026-11-23", "Bad\x1bName": "Security key 2026-11-23"} {
		if got := DefaultKeyName(model, now); got != want {
			t.Errorf("%q: %q", model, got)
		}
	}
	// A long model is cut so that the name stays within the limit tapd
	// enforces (tapd once refused its own default name for such a key).
	got := DefaultKeyName(strings.Repeat("é", 80), now)
	if err := ValidName(got); err != nil {
		t.Errorf("default name %q refused: %v", got, err)
	}
}

// TestValidName counts characters, not bytes: 64 two-byte characters
// pass, 65 do not.
func TestValidName(t *testing.T) {
	if err := ValidName(strings.Repeat("é", MaxNameLength)); err != nil {
		t.Errorf("64 characters refused: %v", err)
	}
	if ValidName(strings.Repeat("é", MaxNameLength+1)) == nil {
		t.Error("65 characters accepted")
	}
	for _, bad := range []string{"", "  ", "a\x1b[31mb", "tab\there"} {
		if ValidName(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestPassLooksRight(t *testing.T) {
	for typed, want := range map[string]bool{"short": false, "  Abcdefgh  ": true, strings.Repeat("A", MaxPassLength): true,
		strings.Repeat("A", MaxPassLength+1): false, "": false} {
		if got := PassLooksRight(typed); got != want {
			t.Errorf("%q: %v", typed, got)
		}
	}
}
