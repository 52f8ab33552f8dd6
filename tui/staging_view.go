package tui

import (
	"errors"

	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/staging"
)

// View renders the staging screen.
func (m *StagingModel) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true
	v.WindowTitle = m.t.S("stage.title")
	return v
}

// Render is the screen as text.
func (m *StagingModel) Render() string {
	return frame(m.st, m.cfg.ASCII, m.width, m.height, m.header, m.body, m.bindings())
}

func (m *StagingModel) header(w, lines int) string {
	b := m.s.Batch
	right := m.t.S("stage.counts", b.RegisteredCount, b.RegisteredCount+b.FailedCount+b.PendingCount, b.FailedCount)
	return headerLines(m.st, m.t.S("stage.title"), Clean(m.cfg.Org, 40), right, w, lines)
}

// explain is what the operator reads for a problem. tapd's own message
// is shown for its refusals: it names the person and the rule, which an
// operator can act on (the walk-up kiosk shows a person's sentence).
func (m *StagingModel) explain(err error) string {
	var ae *api.Error
	var weak *staging.WeakPINError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, staging.ErrNotEmpty):
		return "" // the screen's title says it
	case errors.Is(err, staging.ErrPINsDiffer):
		return m.t.S("pin.differ")
	case errors.As(err, &weak):
		return m.t.S("stage.pinWeak", m.t.S(weakReasons[weak.Why]))
	case errors.Is(err, staging.ErrOtherKey):
		return m.t.S("stage.otherKey")
	case errors.Is(err, staging.ErrNoAuthnrCfg):
		return m.t.S("stage.noAuthnrCfg")
	case errors.Is(err, fido.ErrKeyRemoved):
		return m.t.S("stage.removed")
	case errors.As(err, &ae) && !errors.Is(err, api.ErrUnreachable):
		return m.t.S("err.service", Clean(ae.Message, 200))
	case errors.Is(err, api.ErrUnreachable):
		return explainFor(m.t, err)
	}
	if reason, _ := fido.Explain(err); reason == fido.ReasonOther {
		// Not the key's: a letter folder, a full disk, the PIN draw. Its
		// own words name the file and the cause (never the PIN), which is
		// what an operator needs.
		return m.t.S("stage.error", Clean(err.Error(), 300))
	}
	return explainFor(m.t, err)
}

// weakReasons are the catalogue's words for staging.Weak's reasons.
var weakReasons = map[string]string{
	staging.WeakSame: "stage.weak.same", staging.WeakSequence: "stage.weak.sequence", staging.WeakRepeat: "stage.weak.repeat",
	staging.WeakCommon: "stage.weak.common", staging.WeakYear: "stage.weak.year", staging.WeakDate: "stage.weak.date",
	staging.WeakWalk: "stage.weak.walk", staging.WeakEmpty: "stage.weak.empty",
}

func (m *StagingModel) problemView(w int) string {
	if m.s.Problem == nil {
		return ""
	}
	return problemLine(m.st, m.explain(m.s.Problem), w) // "" for ErrNotEmpty: the title says it
}

// who is the person a screen is about: "Ada Lovelace (3 of 40)" and
// their UPN.
func (m *StagingModel) who(w int) string {
	total := len(m.s.Batch.Rows)
	name := Clean(m.s.Row.DisplayName, 50)
	if name == "" {
		name = Clean(m.s.Row.UserPrincipalName, 60)
	}
	title := m.t.S("stage.person", name, m.s.Pos, total)
	if m.s.Step == staging.StepPlug {
		title = m.t.S("stage.plugFor", name, m.s.Pos, total)
	}
	return para(m.st.title, title, w) + "\n" +
		para(m.st.hint, Clean(m.s.Row.UserPrincipalName, 113), w) + "\n"
}

// body is the step's screen, or the stop or skip question over it, with
// what is under way and the problem below.
func (m *StagingModel) body(w int) string {
	st, t := m.st, m.t
	if m.s.StopAsked {
		return st.box.Width(min(w, 64)).Render(st.title.Render(t.S("stage.stopTitle")) + "\n" + para(st.body, t.S("stage.stopBody"), min(w, 64)-4))
	}
	if m.s.SkipAsked {
		name := Clean(m.s.Row.DisplayName, 50)
		if name == "" {
			name = Clean(m.s.Row.UserPrincipalName, 60)
		}
		body := t.S("stage.skipBody", m.skipWhy())
		if m.s.PINOnKey {
			body = t.S("stage.skipWipeBody", m.skipWhy())
		}
		return st.box.Width(min(w, 64)).Render(st.title.Render(t.S("stage.skipTitle", name)) + "\n" + para(st.body, body, min(w, 64)-4))
	}
	return stagingScreens[m.s.Step].view(m, w) + busyLine(m.st, m.busyText()) + m.problemView(w)
}

func (m *StagingModel) touchBox(w int, title, body string) string {
	return drawTouchBox(m.st, m.t, m.cfg.Now(), m.cfg.Touch, w, title, body)
}
