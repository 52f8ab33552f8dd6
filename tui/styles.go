package tui

import (
	"image/color"

	"charm.land/lipgloss/v2"
)

// styles are the kiosk's looks. Meaning never rests on colour alone:
// problems start with "!", the selected row with "›", marks with "[x]".
type styles struct {
	title, header, body, hint, problem, ok, selected, help, box lipgloss.Style
}

// themeName is the theme to draw: the configured one, or for "auto" (or
// none) the one that suits the terminal's background.
func themeName(theme string, dark bool) string {
	if theme == "" || theme == "auto" {
		if dark {
			return "dark"
		}
		return "light"
	}
	return theme
}

// Themes: "dark" and "light" follow the terminal's background; "contrast"
// is high contrast; "plain" (or NO_COLOR) draws no colour at all.
func newStyles(theme string, dark bool) styles {
	if theme == "plain" {
		base := lipgloss.NewStyle()
		return styles{title: base.Bold(true), header: base, body: base, hint: base, problem: base.Bold(true), ok: base,
			selected: base.Reverse(true), help: base, box: base.Border(lipgloss.NormalBorder()).Padding(0, 1)}
	}
	var fg, dim, accent, bad, good color.Color
	switch {
	case theme == "contrast":
		fg, dim, accent, bad, good = lipgloss.Color("15"), lipgloss.Color("15"), lipgloss.Color("11"), lipgloss.Color("9"), lipgloss.Color("10")
		if !dark {
			fg, dim, accent, bad, good = lipgloss.Color("0"), lipgloss.Color("0"), lipgloss.Color("4"), lipgloss.Color("1"), lipgloss.Color("2")
		}
	case dark:
		fg, dim, accent, bad, good = lipgloss.Color("252"), lipgloss.Color("245"), lipgloss.Color("39"), lipgloss.Color("203"), lipgloss.Color("78")
	default:
		fg, dim, accent, bad, good = lipgloss.Color("235"), lipgloss.Color("240"), lipgloss.Color("25"), lipgloss.Color("124"), lipgloss.Color("28")
	}
	return styles{
		title:    lipgloss.NewStyle().Bold(true).Foreground(accent),
		header:   lipgloss.NewStyle().Foreground(dim),
		body:     lipgloss.NewStyle().Foreground(fg),
		hint:     lipgloss.NewStyle().Foreground(dim),
		problem:  lipgloss.NewStyle().Bold(true).Foreground(bad),
		ok:       lipgloss.NewStyle().Foreground(good),
		selected: lipgloss.NewStyle().Bold(true).Foreground(accent),
		help:     lipgloss.NewStyle().Foreground(dim),
		box:      lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(accent).Padding(0, 1),
	}
}
