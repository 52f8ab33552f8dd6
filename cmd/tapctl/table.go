package main

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// tableGap is the space between columns.
const tableGap = 2

// layoutTable lays out a table (header and rows, cells separated by tabs
// in header) in width columns (0: as wide as its cells). A table wider than that wraps inside its
// columns, at spaces, the widest columns first: a terminal left to wrap
// it would break words across lines ("succe" / "ss"). A column never gets
// narrower than its longest word, so no word is broken; a table whose
// longest words alone are too wide goes past width rather than break one.
func layoutTable(header string, rows [][]string, width int) string {
	all := append([][]string{strings.Split(header, "\t")}, rows...)
	n := 0
	for _, r := range all {
		n = max(n, len(r))
	}
	widths, floors := make([]int, n), make([]int, n)
	for _, r := range all {
		for i, c := range r {
			widths[i] = max(widths[i], ansi.StringWidth(c))
			for _, p := range pieces(c) {
				floors[i] = max(floors[i], ansi.StringWidth(p.text))
			}
		}
	}
	total := func() int {
		t := tableGap * (n - 1)
		for _, w := range widths {
			t += w
		}
		return t
	}
	for width > 0 && total() > width {
		widest := -1
		for i := range widths {
			if widths[i] > floors[i] && (widest < 0 || widths[i] > widths[widest]) {
				widest = i
			}
		}
		if widest < 0 {
			break // every column is down to its longest word
		}
		widths[widest]--
	}
	// Still too wide with every column at its longest word (long ids side
	// by side): the widest column breaks inside its words, so the terminal
	// never wraps a row back to its first column.
	for width > 0 && total() > width {
		widest := 0
		for i := range widths {
			if widths[i] > widths[widest] {
				widest = i
			}
		}
		if widths[widest] <= minColumn {
			break
		}
		widths[widest]--
	}
	var b strings.Builder
	for _, r := range all {
		cells := make([][]string, n)
		lines := 1
		for i := range n {
			c := ""
			if i < len(r) {
				c = r[i]
			}
			cells[i] = wrapWords(c, widths[i])
			lines = max(lines, len(cells[i]))
		}
		for l := range lines {
			var line strings.Builder
			for i := range n {
				s := ""
				if l < len(cells[i]) {
					s = cells[i][l]
				}
				line.WriteString(s)
				if i < n-1 {
					line.WriteString(strings.Repeat(" ", widths[i]-ansi.StringWidth(s)+tableGap))
				}
			}
			b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
		}
	}
	return b.String()
}

// wrapWords fills lines of at most w cells with the words of s, breaking
// at spaces, or inside a word only after a ':', '@' or '/' or a hyphen
// that is not in a date or number (kiosk:lobby- / demo, ada@ /
// example.com); a piece longer than w is cut into lines of w cells.
func wrapWords(s string, w int) []string {
	var lines []string
	cur := ""
	for _, p := range cut(pieces(s), w) {
		sep := ""
		if p.space {
			sep = " "
		}
		switch {
		case cur == "":
			cur = p.text
		case ansi.StringWidth(cur)+len(sep)+ansi.StringWidth(p.text) <= w:
			cur += sep + p.text
		default:
			lines, cur = append(lines, cur), p.text
		}
	}
	return append(lines, cur)
}

// piece is a part of a cell a line may start with; space says a space
// comes before it.
type piece struct {
	text  string
	space bool
}

// pieces splits s at spaces, and its words after their break points.
func pieces(s string) []piece {
	var out []piece
	for _, word := range strings.Fields(s) {
		r := []rune(word)
		start, space := 0, true
		for i, c := range r {
			brk := c == ':' || c == '@' || c == '/' ||
				(c == '-' && !(i > 0 && isDigit(r[i-1]) && i+1 < len(r) && isDigit(r[i+1])))
			if brk && i+1 < len(r) {
				out = append(out, piece{string(r[start : i+1]), space})
				start, space = i+1, false
			}
		}
		out = append(out, piece{string(r[start:]), space})
	}
	return out
}

// minColumn is the narrowest a column is made to fit the terminal.
const minColumn = 4

// cut splits pieces wider than w (w > 0) into pieces of w cells, the
// first keeping its space.
func cut(ps []piece, w int) []piece {
	if w <= 0 {
		return ps
	}
	var out []piece
	for _, p := range ps {
		for ansi.StringWidth(p.text) > w {
			head := ansi.Truncate(p.text, w, "")
			out = append(out, piece{head, p.space})
			p = piece{strings.TrimPrefix(p.text, head), false}
		}
		out = append(out, p)
	}
	return out
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }
