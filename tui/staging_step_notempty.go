package tui

import (
	"context"
	"errors"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/staging"
)

// stageNotEmptyStep: the key has a PIN. Ctrl+W wipes it (unless it is staged
// for someone who still holds it), Esc asks for another key.
type stageNotEmptyStep struct{}

func (stageNotEmptyStep) keys(m *StagingModel) []key.Binding {
	if !m.s.MayWipe() {
		return []key.Binding{m.keyOther(), m.keySkip()} // not theirs to wipe here
	}
	return []key.Binding{m.keyWipe(), m.keyOther(), m.keySkip()}
}

func (stageNotEmptyStep) update(m *StagingModel, k tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(k, m.keyWipe()):
		return m.do(m.s.Wipe())
	case key.Matches(k, m.keyOther()):
		m.s.OtherKey() // the key watch waits for it to leave
	case key.Matches(k, m.keySkip()):
		m.s.AskSkip()
	}
	return nil
}

func (stageNotEmptyStep) view(m *StagingModel, w int) string {
	st, t := m.st, m.t
	title := t.S("stage.notEmptyTitle")
	var ne *staging.NotEmptyError
	if errors.As(m.s.Problem, &ne) {
		title = t.S("stage.notEmptyPasskeys", ne.Passkeys)
	}
	body := t.S("stage.notEmptyBody")
	if o := m.s.Owner; o != nil {
		name := Clean(o.Row.DisplayName, 50)
		if name == "" {
			name = Clean(o.Row.UserPrincipalName, 60)
		}
		title = t.S("stage.ownedTitle", name, Clean(o.Batch, 40))
		body = t.S("stage.ownedBody", Clean(o.Row.UserPrincipalName, 60))
		if !o.Holds() {
			title = t.S("stage.releasedTitle", name, Clean(o.Batch, 40))
			body = t.S("stage.releasedBody", Clean(o.Row.UserPrincipalName, 60))
		}
	}
	return m.who(w) + "\n" + para(st.title, title, w) + "\n" + para(st.body, body, w)
}

// findOwner looks for the key among the keys already staged, by its
// serial number when it shows one (staging.Station.OwnerFound).
func (m *StagingModel) findOwner() tea.Cmd {
	path := m.s.Key.Path
	return call(callTimeout, func(ctx context.Context) tea.Msg {
		serial := m.stager.SerialOf(path)
		if serial == "" {
			return nil
		}
		o, err := m.stager.FindBySerial(ctx, serial)
		return sOwnerMsg{path, o, err}
	})
}
