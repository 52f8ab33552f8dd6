package tui

// adminView is the administrator's exit: the code, and after a wrong one
// how long until the next try is even compared.
func (m *Model) adminView(w int) string {
	s := m.st.title.Render(m.t.S("admin.title")) + "\n\n" + m.t.S("admin.prompt") + "\n" + m.admin.View()
	wait := m.adminWait.Sub(m.cfg.Now())
	var msg string
	switch {
	case m.adminMsg == "admin.wait" && wait > 0:
		msg = m.t.S("admin.notChecked", mmss(wait))
	case m.adminMsg != "" && wait > 0:
		msg = m.t.S("admin.wrong") + " " + m.t.S("admin.wait", mmss(wait))
	case m.adminMsg != "":
		msg = m.t.S("admin.wrong")
	}
	if msg != "" {
		s += "\n" + para(m.st.problem, "! "+msg, w)
	}
	return s
}
