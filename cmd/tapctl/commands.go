package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// parseMinutes reads a lifetime: plain minutes ("60"), a Go duration
// ("90m", "8h") or days ("2d").
func parseMinutes(s string) (int, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		return n, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil {
			return n * 24 * 60, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d%time.Minute != 0 {
		return 0, fmt.Errorf("%q is not a whole number of minutes, like 60, 90m, 8h or 2d", s)
	}
	return int(d / time.Minute), nil
}

// parseWhen reads an instant: RFC 3339, or a delay from now ("2h") for
// --start, or a time ago for --since ("24h" means the last 24 hours).
func parseWhen(s string, now time.Time, ago bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	m, err := parseMinutes(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (2026-11-23T09:00:00Z) nor a duration (2h)", s)
	}
	d := time.Duration(m) * time.Minute
	if ago {
		d = -d
	}
	return now.Add(d), nil
}

// clean makes server text safe for a terminal: control characters become
// '?', so a hostile name cannot move the cursor or retitle the window.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return '?'
		}
		return r
	}, s)
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04 MST")
}

func whenPtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return when(*t)
}

// table prints a table wrapped by column to the terminal's width
// (layoutTable).
func (a *app) table(header string, rows [][]string) {
	for _, r := range rows {
		for i := range r {
			r[i] = clean(r[i])
		}
	}
	fmt.Fprint(a.out, layoutTable(header, rows, a.width))
}

func (a *app) done(msg string) error {
	if a.json {
		return a.printJSON(map[string]string{"result": msg})
	}
	fmt.Fprintln(a.out, msg)
	return nil
}
