package tui

import (
	"crypto/subtle"
	"time"

	tea "charm.land/bubbletea/v2"
)

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

// adminDelay is the wait after n wrong admin codes: 1 s, doubling, at most
// five minutes. Twenty guesses take hours, not a second.
func adminDelay(n int) time.Duration {
	return min(time.Second<<min(n-1, 12), 5*time.Minute)
}

func (m *Model) adminKey(k tea.KeyPressMsg) tea.Cmd {
	switch k.String() {
	case "esc":
		m.adminOpen = false
		m.admin.Reset()
		return nil
	case "enter":
		now := m.cfg.Now()
		code := m.admin.Value()
		m.admin.Reset()
		if now.Before(m.adminWait) {
			m.adminMsg = "admin.wait" // not compared: the wait is the throttle
			return nil
		}
		if subtle.ConstantTimeCompare([]byte(code), []byte(m.cfg.AdminCode)) == 1 {
			m.adminFails = 0
			return m.quit()
		}
		m.adminFails++
		m.adminWait = now.Add(adminDelay(m.adminFails))
		m.adminMsg = "admin.wrong"
		return nil
	}
	var cmd tea.Cmd
	m.admin, cmd = m.admin.Update(k)
	return cmd
}
