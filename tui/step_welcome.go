package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// welcomeStep greets the next person. It lets them start only while tapd
// answers: a journey that cannot sign in would only waste their pass.
type welcomeStep struct{}

func (welcomeStep) keys(m *Model) []key.Binding {
	start := m.bind("help.start", "enter", "enter")
	start.SetEnabled(m.reachable)
	return []key.Binding{start, m.keyLang()}
}

func (s welcomeStep) update(m *Model, k tea.KeyPressMsg) tea.Cmd {
	if key.Matches(k, s.keys(m)[0]) {
		m.notice = ""
		m.j.Start()
		return m.upn.Focus()
	}
	return nil
}

func (welcomeStep) view(m *Model, w int) string {
	st, t := m.st, m.t
	out := para(st.body, t.S("welcome.body"), w) + "\n\n"
	if m.notice != "" && m.cfg.Now().Before(m.noticeUntil) {
		if noticeIsProblem(m.notice) {
			out += para(st.problem, "! "+t.S(m.notice), w) + "\n\n"
		} else {
			out += para(st.body, t.S(m.notice), w) + "\n\n"
		}
	}
	if m.reachable {
		return out + st.ok.Render(t.S("welcome.ready")) + " " + st.title.Render(t.S("welcome.start"))
	}
	return out + para(st.problem, "! "+t.S("welcome.down"), w)
}

// noticeIsProblem reports a notice that says something went wrong (the
// time ran out, tapd ended the session) and so carries the problem
// marker; a sign-out, on purpose or after a while without input, is what
// was meant to happen and carries none.
func noticeIsProblem(notice string) bool {
	switch notice {
	case "signedOut", "idleSignedOut", "idleReset":
		return false
	}
	return true
}
