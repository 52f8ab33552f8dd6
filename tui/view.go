package tui

import (
	"errors"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/flows"
)

// View renders the whole screen: header, the step's body, the help bar.
func (m *Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true // no scrollback: nothing of one person stays for the next
	v.WindowTitle = m.t.S("app.title")
	return v
}

// Render is the screen as text, for the View and for golden tests.
func (m *Model) Render() string {
	w := max(m.width, 40)
	header := m.header(w)
	body := m.body(w - 4)
	if m.idleAsk {
		body = m.st.box.Render(m.st.title.Render(m.t.S("idle.title")) + "\n" +
			m.t.S("idle.body", int((m.cfg.Idle+m.cfg.IdleGrace-m.cfg.Now().Sub(m.lastInput)).Seconds())))
	}
	if m.adminOpen {
		body = m.st.title.Render(m.t.S("admin.title")) + "\n\n" + m.t.S("admin.prompt") + "\n" + m.admin.View() + "\n" + m.st.problem.Render(m.adminMsg)
	}
	help := m.st.help.Render(Clean(m.help(), w))
	gap := max(m.height-lipgloss.Height(header)-lipgloss.Height(body)-lipgloss.Height(help)-2, 0)
	return header + "\n\n" + lipgloss.NewStyle().PaddingLeft(2).Render(body) + strings.Repeat("\n", gap) + "\n" + help
}

func (m *Model) header(w int) string {
	left := m.st.title.Render(m.t.S("app.title"))
	if m.cfg.Org != "" {
		left += m.st.header.Render(" · " + Clean(m.cfg.Org, 40))
	}
	right := m.t.S("app.lang")
	if m.j.SignedIn() && m.j.Step != flows.StepDone {
		right = m.t.S("app.timeLeft", mmss(m.j.TimeLeft(m.cfg.Now()))) + " · " + right
	}
	right = m.st.header.Render(right)
	pad := max(w-lipgloss.Width(left)-lipgloss.Width(right), 1)
	return left + strings.Repeat(" ", pad) + right
}

func (m *Model) problem() string {
	if m.j.Problem == nil {
		return ""
	}
	return "\n" + m.st.problem.Render("! "+m.explain(m.j.Problem))
}

func (m *Model) busyLine() string {
	if m.busy == "" {
		return ""
	}
	return "\n" + m.st.hint.Render("… "+m.busy)
}

func (m *Model) greeting() string {
	if !m.j.SignedIn() {
		return ""
	}
	s := m.st.body.Render(m.t.S("signedin.greeting", Clean(m.j.Session.DisplayName, 60)))
	if !m.j.Session.HasOtherMethods {
		s += "\n" + m.st.problem.Render("! "+m.t.S("signedin.noOther"))
	}
	return s + "\n\n"
}

func (m *Model) body(w int) string {
	j, st, t := m.j, m.st, m.t
	wrap := lipgloss.NewStyle().Width(w)
	var b strings.Builder
	switch j.Step {
	case flows.StepWelcome:
		b.WriteString(wrap.Render(st.body.Render(t.S("welcome.body"))) + "\n\n")
		if m.notice != "" {
			b.WriteString(st.problem.Render("! "+m.notice) + "\n\n")
		}
		if m.reachable {
			b.WriteString(st.ok.Render(t.S("welcome.ready")) + " " + st.title.Render(t.S("welcome.start")))
		} else {
			b.WriteString(st.problem.Render("! " + t.S("welcome.down")))
		}
	case flows.StepUPN:
		b.WriteString(st.title.Render(t.S("upn.title")) + "\n" + st.hint.Render(t.S("upn.hint")) + "\n\n" + m.upn.View() + "\n")
		if v := m.upn.Value(); v != "" {
			if err := flows.CheckUPN(v); err != nil {
				b.WriteString(st.hint.Render(Clean(err.Error(), w)))
			} else {
				b.WriteString(st.ok.Render(t.S("upn.ok")))
			}
		}
		b.WriteString(m.problem())
	case flows.StepPass:
		b.WriteString(st.title.Render(t.S("pass.title")) + "\n" + st.hint.Render(t.S("pass.for", Clean(j.UPN, 113))) + "\n" +
			st.hint.Render(t.S("pass.hint")) + "\n\n")
		if m.cfg.Now().Before(m.revealUntil) {
			b.WriteString("› " + Clean(m.pass.Value(), 64))
		} else {
			b.WriteString(m.pass.View())
		}
		b.WriteString(m.busyLine() + m.problem())
	case flows.StepInsertKey:
		b.WriteString(m.greeting() + st.title.Render(t.S("key.insert")) + "\n")
		if m.busy != "" {
			b.WriteString(m.busyLine())
		} else {
			b.WriteString(st.hint.Render(t.S("key.waiting")))
		}
		if !errors.Is(j.Problem, fido.ErrNoKey) { // the title already says it
			b.WriteString(m.problem())
		}
	case flows.StepNewPIN:
		b.WriteString(m.greeting() + st.title.Render(t.S("pin.new.title")) + "\n" + wrap.Render(st.hint.Render(t.S("pin.new.rules", max(j.Info.MinPINLength, 4)))) + "\n\n")
		b.WriteString(t.S("pin.new.first") + "\n" + m.pin1.View() + "\n" + t.S("pin.new.again") + "\n" + m.pin2.View())
		if m.pinWarn != "" {
			b.WriteString("\n" + st.hint.Render("! "+m.pinWarn))
		}
		b.WriteString(m.busyLine() + m.problem())
	case flows.StepEnterPIN:
		b.WriteString(m.greeting() + st.title.Render(t.S("pin.enter.title")) + "\n")
		if r := j.PIN.Retries; r > 0 && r <= 3 {
			b.WriteString(st.problem.Render("! " + t.S("pin.retriesLow", r)))
		} else if r > 0 {
			b.WriteString(st.hint.Render(t.S("pin.retries", r)))
		}
		b.WriteString("\n\n" + m.pin1.View() + m.problem())
	case flows.StepPINBlocked:
		b.WriteString(m.greeting() + st.problem.Render("! "+t.S("pin.blocked.title")) + "\n\n" + wrap.Render(t.S("pin.blocked.body")))
	case flows.StepNameKey:
		b.WriteString(st.title.Render(t.S("name.title")) + "\n" + st.hint.Render(t.S("name.hint")) + "\n\n" + m.name.View() + m.problem())
	case flows.StepTouch:
		spin := []string{"◐", "◓", "◑", "◒"}[m.cfg.Now().Second()%4]
		b.WriteString(st.box.Render(st.title.Render(spin+"  "+t.S("touch.title")) + "\n" + t.S("touch.body") + "\n" +
			st.hint.Render(t.S("touch.timeout", m.cfg.Touch.String()))))
		if m.busy == "" {
			b.WriteString(m.problem())
		}
	case flows.StepCheckKey:
		b.WriteString(st.ok.Render("✓ "+t.S("check.title")) + "  " + st.hint.Render(Clean(j.Method.DisplayName, 64)) + "\n\n")
		if m.checking {
			b.WriteString(st.box.Render(st.title.Render(t.S("check.touch"))))
		} else {
			b.WriteString(wrap.Render(t.S("check.body")))
		}
		b.WriteString(m.problem())
	case flows.StepCleanup:
		b.WriteString(m.cleanupView(w))
	case flows.StepDeletePass:
		yes, no := "  "+t.S("delpass.yes"), "  "+t.S("delpass.no")
		if m.keepPass {
			no = st.selected.Render("› " + t.S("delpass.no"))
		} else {
			yes = st.selected.Render("› " + t.S("delpass.yes"))
		}
		b.WriteString(st.title.Render(t.S("delpass.title")) + "\n" + wrap.Render(t.S("delpass.body")) + "\n\n" + yes + "\n" + no)
		if m.keepPass && !j.PassEnds.IsZero() {
			b.WriteString("\n\n" + st.hint.Render(t.S("delpass.kept", j.PassEnds.Local().Format("2006-01-02 15:04"))))
		}
		b.WriteString(m.busyLine() + m.problem())
	case flows.StepDone:
		b.WriteString(st.ok.Render("✓ "+t.S("done.title")) + "\n\n" + "• " + t.S("done.key", Clean(j.Method.DisplayName, 64)) + "\n")
		if j.Checked {
			b.WriteString("• " + t.S("done.checked") + "\n")
		}
		if len(j.Removed) > 0 {
			b.WriteString("• " + t.S("done.removed", len(j.Removed)) + "\n")
		}
		if j.PassDeleted {
			b.WriteString("• " + t.S("done.passDeleted") + "\n")
		} else {
			b.WriteString("• " + t.S("done.passKept", j.PassEnds.Local().Format("2006-01-02 15:04")) + "\n")
		}
		left := int((m.cfg.DoneDelay - m.cfg.Now().Sub(m.doneAt)).Seconds())
		b.WriteString("\n" + st.title.Render(t.S("done.removeKey")) + "\n" + st.hint.Render(t.S("done.restart", max(left, 0))))
	}
	return b.String()
}

func (m *Model) cleanupView(w int) string {
	j, st, t := m.j, m.st, m.t
	var b strings.Builder
	b.WriteString(st.title.Render(t.S("cleanup.title")) + "\n" + lipgloss.NewStyle().Width(w).Render(t.S("cleanup.body")) + "\n")
	b.WriteString(st.ok.Render("✓ "+t.S("cleanup.newKey")+" "+Clean(j.Method.DisplayName, 40)) + "\n\n")
	if m.busy != "" {
		return b.String() + m.busyLine()
	}
	if len(j.Methods) == 0 {
		b.WriteString(st.hint.Render(t.S("cleanup.none")) + "\n")
	}
	for i, meth := range j.Methods {
		mark := "[ ]"
		if m.marked[meth.ID] {
			mark = "[x]"
		}
		line := fmt.Sprintf("%s %-18s %-28s %s", mark, m.kind(meth), Clean(meth.DisplayName, 28),
			t.S("method.added", meth.CreatedDateTime.Local().Format("2006-01-02")))
		if i == m.cursor {
			line = st.selected.Render("› " + line)
		} else {
			line = "  " + line
		}
		b.WriteString(line + "\n")
	}
	for _, r := range j.Removed {
		b.WriteString(st.ok.Render("✓ "+t.S("cleanup.removed", Clean(r.DisplayName, 40))) + "\n")
	}
	if m.confirming {
		b.WriteString("\n" + st.title.Render(t.S("cleanup.confirm", m.markedCount())))
	}
	return b.String() + m.problem()
}

func (m *Model) kind(a api.AuthenticationMethod) string {
	switch a.Type {
	case api.TypeFIDO2:
		return m.t.S("method.fido2")
	case api.MethodType("phone"):
		return m.t.S("method.phone")
	case api.MethodType("microsoftAuthenticator"):
		return m.t.S("method.authApp")
	}
	return m.t.S("method.other")
}

// helpKeys are the help bar's entries for each step.
var helpKeys = map[flows.Step][]string{
	flows.StepWelcome:    {"help.next", "help.lang"},
	flows.StepUPN:        {"help.next", "help.back"},
	flows.StepPass:       {"help.next", "help.reveal", "help.back"},
	flows.StepInsertKey:  {},
	flows.StepNewPIN:     {"help.next", "help.back"},
	flows.StepEnterPIN:   {"help.next", "help.back"},
	flows.StepPINBlocked: {"help.back"},
	flows.StepNameKey:    {"help.next", "help.back"},
	flows.StepTouch:      {"help.cancel"},
	flows.StepCheckKey:   {"help.next", "help.skip"},
	flows.StepCleanup:    {"help.move", "help.mark", "help.remove", "help.done"},
	flows.StepDeletePass: {"help.yesno", "help.next"},
	flows.StepDone:       {"help.next"},
}

// help is the help bar for the current step.
func (m *Model) help() string {
	t := m.t
	keys := helpKeys[m.j.Step]
	if m.checking {
		keys = []string{"help.cancel"}
	}
	if m.j.Step == flows.StepTouch && m.busy == "" {
		keys = []string{"help.retry", "help.back"}
	}
	var parts []string
	for _, k := range keys {
		parts = append(parts, t.S(k))
	}
	return strings.Join(parts, " · ")
}
