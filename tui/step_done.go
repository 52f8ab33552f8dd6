package tui

import (
	"context"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// deletePassStep asks to delete the pass, yes by default.
type deletePassStep struct{}

func (deletePassStep) keys(m *Model) []key.Binding {
	return []key.Binding{m.keyChoose(), m.keyNext(), m.keyLeave()}
}

func (deletePassStep) update(m *Model, k tea.KeyPressMsg) tea.Cmd {
	switch {
	case k.String() == "y": // the first letters of the choices, as a newcomer tries
		m.keepPass = false
	case k.String() == "n":
		m.keepPass = true
	case key.Matches(k, m.keyChoose()):
		m.keepPass = !m.keepPass
	case key.Matches(k, m.keyNext()):
		keep := m.keepPass
		m.busy = "…"
		return call(callTimeout, func(ctx context.Context) tea.Msg {
			if keep {
				return passMsg{keep: true}
			}
			return passMsg{false, m.svc.DeletePass(ctx)}
		})
	case key.Matches(k, m.keyLeave()):
		m.askSignOut()
	}
	return nil
}

func (deletePassStep) view(m *Model, w int) string {
	j, st, t := m.j, m.st, m.t
	sel := 0
	if m.keepPass {
		sel = 1
	}
	out := st.title.Render(t.S("delpass.title")) + "\n" + para(st.body, t.S("delpass.body"), w) + "\n\n" +
		m.choices(w, sel, t.S("delpass.yes"), t.S("delpass.no"))
	if m.keepPass && !j.PassEnds.IsZero() {
		out += "\n\n" + para(st.hint, t.S("delpass.kept", m.minute(j.PassEnds)), w)
	}
	return out + m.busyView() + m.problemView(w)
}

// doneStep sums up, then returns to Welcome.
type doneStep struct{}

func (doneStep) keys(m *Model) []key.Binding {
	return []key.Binding{m.bind("help.startOver", "enter", "enter")}
}

func (doneStep) update(m *Model, k tea.KeyPressMsg) tea.Cmd {
	if key.Matches(k, m.keyNext()) {
		return m.endSession("")
	}
	return nil
}

func (doneStep) view(m *Model, w int) string {
	j, st, t := m.j, m.st, m.t
	var lines []string
	for i, k := range j.Keys { // the first key, then the backup key
		switch {
		case k.Kept:
			lines = append(lines, t.S("done.kept", Clean(k.Method.DisplayName, 64)))
		case i > 0:
			lines = append(lines, t.S("done.backup", Clean(k.Method.DisplayName, 64)))
		default:
			lines = append(lines, t.S("done.key", Clean(k.Method.DisplayName, 64)))
		}
		if k.Checked {
			lines = append(lines, t.S("done.checked"))
		}
	}
	if len(j.Removed) > 0 {
		lines = append(lines, t.S("done.removed", len(j.Removed)))
	}
	switch {
	case j.PassDeleted:
		lines = append(lines, t.S("done.passDeleted"))
	case !j.PassEnds.IsZero():
		lines = append(lines, t.S("done.passKept", m.minute(j.PassEnds)))
	default:
		lines = append(lines, t.S("done.passKeptPlain"))
	}
	for i := range lines {
		lines[i] = para(st.body, "• "+lines[i], w)
	}
	left := int((m.cfg.DoneDelay - m.cfg.Now().Sub(m.doneAt)).Seconds())
	return st.ok.Render("✓ "+t.S("done.title")) + "\n\n" + strings.Join(lines, "\n") + "\n\n" +
		para(st.title, t.S("done.removeKey"), w) + "\n" + para(st.hint, t.S("done.restart", max(left, 0)), w)
}
