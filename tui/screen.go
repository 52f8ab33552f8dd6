package tui

import (
	"regexp"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/tapkiosk/tapkiosk/flows"
)

// screen is one step of the journey: its keys (which the help bar shows),
// what a key press does, and what it draws in a column w cells wide.
type screen interface {
	keys(m *Model) []key.Binding
	update(m *Model, k tea.KeyPressMsg) tea.Cmd
	view(m *Model, w int) string
}

// screens maps each step to its file's screen. A new step is one more
// file and one more line here.
var screens = map[flows.Step]screen{
	flows.StepWelcome:    welcomeStep{},
	flows.StepUPN:        upnStep{},
	flows.StepPass:       passStep{},
	flows.StepInsertKey:  insertKeyStep{},
	flows.StepNewPIN:     newPINStep{},
	flows.StepEnterPIN:   enterPINStep{},
	flows.StepPINBlocked: pinBlockedStep{},
	flows.StepNameKey:    nameStep{},
	flows.StepTouch:      touchStep{},
	flows.StepKnownKey:   knownKeyStep{},
	flows.StepCheckKey:   checkStep{},
	flows.StepCleanup:    cleanupStep{},
	flows.StepDeletePass: deletePassStep{},
	flows.StepDone:       doneStep{},
	flows.StepReplugKey:  replugStep{},
	flows.StepChangePIN:  changePINStep{},
	flows.StepKeyFull:    keyFullStep{},
	flows.StepFingers:    fingersStep{},
}

// Column limits: on a big terminal the kiosk draws a column of at most
// this size, centred, rather than a line of text in the top-left corner.
const (
	maxCols = 80
	maxRows = 30
)

// View renders the whole screen.
func (m *Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true // no scrollback: nothing of one person stays for the next
	v.WindowTitle = m.t.S("app.title")
	return v
}

// Render is the screen as text, for the View and for golden tests:
// header, the step's body (or an overlay), the help bar, in a column
// centred in the window.
func (m *Model) Render() string {
	return frame(m.st, m.cfg.ASCII, m.width, m.height, m.header, m.body, m.bindings())
}

// frame lays a screen out: the header, the body (drawn for the column's
// width less its margins), the help bar at the foot, the column centred
// in a big window. Both the walk-up kiosk and staging mode use it.
func frame(st styles, ascii bool, width, height int, header, body func(w int) string, keys []key.Binding) string {
	cw := min(max(width, 40), maxCols)
	ch := min(max(height, 12), maxRows)
	head := header(cw)
	help := st.help.Render(wrapHelp(keys, cw))
	b := lipgloss.NewStyle().PaddingLeft(2).Render(body(cw - 4))
	gap := max(ch-lipgloss.Height(head)-lipgloss.Height(b)-lipgloss.Height(help)-2, 0)
	out := head + "\n\n" + b + strings.Repeat("\n", gap) + "\n" + help
	if width > cw || height > ch {
		out = lipgloss.Place(max(width, cw), max(height, ch), lipgloss.Center, lipgloss.Center, out)
	}
	if ascii {
		out = asciiSymbols.Replace(out)
	}
	return out
}

// asciiSymbols replaces each symbol the kiosk draws by one ASCII
// character of the same width, so the layout lipgloss measured holds.
// "·" stays: it is Latin-1, which every console font has. Rounded box
// corners become square ones: the console's fonts hold the straight box
// lines and square corners (CP437's set), not the rounded ones.
var asciiSymbols = strings.NewReplacer(append(asciiPairs, squareCorners()...)...)

// squareCorners pairs each rounded box corner with its square one.
func squareCorners() []string {
	r, n := lipgloss.RoundedBorder(), lipgloss.NormalBorder()
	return []string{r.TopLeft, n.TopLeft, r.TopRight, n.TopRight, r.BottomLeft, n.BottomLeft, r.BottomRight, n.BottomRight}
}

var asciiPairs = []string{"◐", "|", "◓", "/", "◑", "-", "◒", "\\", "✓", "+", "›", ">", "•", "*", "…", ".", "→", ">", "←", "<", "↑", "^", "↓", "v", "⏎", "<"}

// rowsFor is how many lines the body may use, for lists that scroll.
func (m *Model) rowsFor() int {
	return min(max(m.height, 12), maxRows) - 5
}

func (m *Model) header(w int) string {
	right := m.t.S("app.lang")
	if m.j.SignedIn() && m.j.Step != flows.StepDone {
		right = m.t.S("app.timeLeft", mmss(m.j.TimeLeft(m.cfg.Now()))) + " · " + right
	}
	left := m.t.S("app.title")
	org := ""
	if m.cfg.Org != "" {
		org = " · " + Clean(m.cfg.Org, 40)
	}
	room := max(w-lipgloss.Width(right)-1, 1)
	if lipgloss.Width(left+org) > room {
		org = ansi.Truncate(org, max(room-lipgloss.Width(left), 0), "…")
		left = ansi.Truncate(left, room, "…")
	}
	l := m.st.title.Render(left) + m.st.header.Render(org)
	return l + strings.Repeat(" ", max(w-lipgloss.Width(l)-lipgloss.Width(right), 1)) + m.st.header.Render(right)
}

// body is the step's view, or an overlay: the admin exit, the sign-out
// question, or "still there?".
func (m *Model) body(w int) string {
	switch {
	case m.adminOpen:
		return m.adminView(w)
	case m.signOutAsk:
		return m.signOutView(w)
	case m.idleAsk:
		left := int((m.cfg.Idle + m.cfg.IdleGrace - m.cfg.Now().Sub(m.lastInput)).Seconds())
		return m.st.box.Width(min(w, 60)).Render(m.st.title.Render(m.t.S("idle.title")) + "\n" + m.t.S("idle.body", max(left, 0)))
	}
	return screens[m.j.Step].view(m, w)
}

// bindings are the keys the help bar shows now.
func (m *Model) bindings() []key.Binding {
	switch {
	case m.adminOpen:
		return []key.Binding{m.bind("help.exit", "enter", "enter"), m.bind("help.cancel", "esc", "esc")}
	case m.signOutAsk:
		return m.signOutKeys()
	case m.idleAsk:
		return []key.Binding{m.bind("help.anyKey", "any key")}
	}
	return screens[m.j.Step].keys(m)
}

// wrapHelp lays the bindings out as "key what · key what", wrapped at w
// between entries rather than cut.
func wrapHelp(bs []key.Binding, w int) string {
	var lines []string
	line := ""
	for _, b := range bs {
		if !b.Enabled() {
			continue
		}
		h := b.Help()
		item := h.Key + " " + h.Desc
		switch {
		case line == "":
			line = item
		case lipgloss.Width(line+" · "+item) <= w:
			line += " · " + item
		default:
			lines, line = append(lines, line), item
		}
	}
	return strings.Join(append(lines, line), "\n")
}

// para wraps text to w in style s, keeping dates whole (keepDates).
func para(s lipgloss.Style, text string, w int) string {
	return unkeepDates(s.Width(w).Render(keepDates(text)))
}

// keepDates and unkeepDates hold a date such as 2026-12-07 together
// through wrapping: the wrapper breaks lines after any hyphen, which cut
// a key's default name inside its date ("2026-12-" / "07"). A hyphen
// between digits becomes a non-breaking hyphen, one cell wide too, for
// the wrap only.
func keepDates(s string) string { return dateHyphen.ReplaceAllString(s, "$1\u2011$2") }

func unkeepDates(s string) string { return strings.ReplaceAll(s, "\u2011", "-") }

var dateHyphen = regexp.MustCompile(`(\d)-(\d)`)

// problemView is the current problem, wrapped, on lines of its own.
func (m *Model) problemView(w int) string {
	if m.j.Problem == nil {
		return ""
	}
	return problemLine(m.st, m.explain(m.j.Problem), w)
}

// problemLine is a problem, wrapped, on lines of its own.
func problemLine(st styles, text string, w int) string {
	if text == "" {
		return ""
	}
	return "\n" + para(st.problem, "! "+text, w)
}

// choices draws a vertical choice, the selected one marked "›"; a long
// option wraps under itself instead of being cut.
func (m *Model) choices(w, selected int, options ...string) string {
	var out []string
	for i, o := range options {
		mark, st := "  ", lipgloss.NewStyle()
		if i == selected {
			mark, st = "› ", m.st.selected
		}
		for _, l := range hanging(mark, o, w) {
			out = append(out, st.Render(l))
		}
	}
	return strings.Join(out, "\n")
}

// hanging wraps text to w after prefix: the prefix before the first line,
// spaces as wide under it before the others, so a long item wraps under
// itself instead of being cut.
func hanging(prefix, text string, w int) []string {
	pw := lipgloss.Width(prefix)
	lines := strings.Split(para(lipgloss.NewStyle(), text, max(w-pw, 1)), "\n")
	for i, l := range lines {
		if i > 0 {
			prefix = strings.Repeat(" ", pw)
		}
		lines[i] = prefix + strings.TrimRight(l, " ")
	}
	return lines
}

func (m *Model) busyView() string { return busyLine(m.st, m.busy) }

// busyLine says what a running call is doing, if one runs.
func busyLine(st styles, busy string) string {
	if busy == "" {
		return ""
	}
	return "\n" + st.hint.Render("… "+busy)
}

// touchBox is the "touch your key now" box, drawn only while the key
// really waits.
func (m *Model) touchBox(w int, title, body string) string {
	return drawTouchBox(m.st, m.t, m.cfg.Now(), m.cfg.Touch, w, title, body)
}

// drawTouchBox is the touch box of both kiosk modes: a spinner that moves
// with the clock, what to do, and how long the key waits.
func drawTouchBox(st styles, t T, now time.Time, wait time.Duration, w int, title, body string) string {
	spin := []string{"◐", "◓", "◑", "◒"}[now.Second()%4]
	inner := min(w, 64) - 4
	text := st.title.Render(spin+"  "+title) + "\n" + para(st.body, body, inner) + "\n" +
		para(st.hint, t.S("touch.timeout", t.Dur(wait)), inner)
	return st.box.Render(text)
}

// greeting heads the signed-in steps before the key is registered: who
// is signed in, and what they should know about their sign-in.
func (m *Model) greeting(w int) string {
	if !m.j.SignedIn() {
		return ""
	}
	s := m.st.body.Render(m.t.S("signedin.greeting", Clean(m.j.Session.DisplayName, 60)))
	if !m.j.Session.HasOtherMethods && len(m.j.Keys) == 0 { // not once a key is done (the backup key's steps)
		s += "\n" + para(m.st.problem, "! "+m.t.S("signedin.noOther"), w)
	}
	if m.j.PassOnce {
		s += "\n" + para(m.st.hint, m.t.S("signedin.once"), w)
	}
	return s + "\n\n"
}

func (m *Model) day(t time.Time) string { return t.Local().Format("2006-01-02") }
func (m *Model) minute(t time.Time) string {
	return t.Local().Format("2006-01-02 15:04")
}
