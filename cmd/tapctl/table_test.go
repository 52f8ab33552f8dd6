package main

import (
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// Issue 23 item 10: a table wider than 80 columns wraps inside its
// columns, at spaces: every line fits, every word is whole, and each
// cell's words are in its own column.
func TestTableWrapsByColumn(t *testing.T) {
	rows := [][]string{
		{"2026-12-07 10:04 CET", "kiosk:lobby-demo", "registerFido2", "ada@example.com", "success", "the key was registered after a long while at the kiosk", "8c1f0e2a"},
		{"2026-12-07 10:05 CET", "admin:ops", "createPass", "ada@example.com", "success", "", "9d2a"},
	}
	out := layoutTable("TIME\tACTOR\tACTION\tTARGET\tRESULT\tREASON\tREQUEST", rows, 80)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Fatalf("%d wide: %q\n%s", n, l, out)
		}
	}
	for _, w := range []string{"2026-12-07", "registerFido2", "registered", "success", "8c1f0e2a"} {
		if !strings.Contains(out, w) {
			t.Fatalf("%q is broken:\n%s", w, out)
		}
	}
	// A word too wide for its column breaks only after ':', '@', '/' or
	// a hyphen outside a number, never mid-letters.
	if strings.Contains(out, "kiosk:lobby-demo") && strings.Contains(out, "ada@example.com") {
		t.Fatalf("nothing broke at a break point, yet every line fits:\n%s", out)
	}
	// The reason wraps under itself: its column starts at the same
	// place on each of its lines.
	col := strings.Index(lines[1], "the key")
	if col < 0 || len(lines) < 4 {
		t.Fatalf("no wrapped reason:\n%s", out)
	}
	if next := lines[2]; len(next) <= col || next[col-1] != ' ' || next[col] == ' ' {
		t.Fatalf("the reason's second line is not in its column:\n%s", out)
	}
	// A table that fits is unchanged in shape: one line a row.
	small := layoutTable("A\tB", [][]string{{"x", "y"}}, 80)
	if small != "A  B\nx  y\n" {
		t.Fatalf("%q", small)
	}
}

func TestTermWidth(t *testing.T) {
	for in, want := range map[string]int{"": 80, "120": 120, "12": 80, "wide": 80} {
		if got := termWidth(in); got != want {
			t.Errorf("%q: %d", in, got)
		}
	}
}

// Into a pipe a table is not wrapped: scripts read one row a line.
func TestTableUnwrappedIntoAPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if got := tableWidth(w, "80"); got != 0 {
		t.Fatalf("a pipe: width %d", got)
	}
	long := strings.Repeat("word ", 40)
	if out := layoutTable("A\tB", [][]string{{"x", long}}, 0); strings.Count(out, "\n") != 2 {
		t.Fatalf("wrapped at width 0:\n%s", out)
	}
}

// Long unbreakable words side by side (the audit's request ids, as make
// demo shows them at 80 columns) still fit: the widest column breaks
// inside its words rather than the terminal wrapping the row back to its
// first column.
func TestTableFitsWhenWordsDoNot(t *testing.T) {
	rows := [][]string{{"2026-12-07 03:57 UTC", "admin:initial-admin", "createUser", "ada@example.com", "success", "", "1fb5e1b1fc7594bc"}, {"2026-12-07 03:57 UTC", "admin:initial-admin", "updatePolicy", "", "success", "", "a50a0269f0223e95"}}
	out := layoutTable("TIME\tACTOR\tACTION\tTARGET\tRESULT\tREASON\tREQUEST", rows, 80)
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Fatalf("%d wide: %q\n%s", n, l, out)
		}
	}
	if !strings.Contains(out, "createUser") || !strings.Contains(out, "success") || !strings.Contains(out, "1fb5") {
		t.Fatalf("a word was lost:\n%s", out)
	}
}
