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
	if m.owner.Holds() {
		return []key.Binding{m.keyOther(), m.keySkip()} // not theirs to wipe here
	}
	return []key.Binding{m.keyWipe(), m.keyOther(), m.keySkip()}
}

func (stageNotEmptyStep) update(m *StagingModel, k tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(k, m.keyWipe()) && !m.owner.Holds():
		m.step, m.problem, m.keyGone = sResetPlug, nil, false
		return m.pollKeys(false)
	case key.Matches(k, m.keyOther()):
		m.problem = errOtherKey
		return nil // the key watch waits for it to leave
	case key.Matches(k, m.keySkip()):
		return m.askSkip()
	}
	return nil
}

func (stageNotEmptyStep) view(m *StagingModel, w int) string {
	st, t := m.st, m.t
	title := t.S("stage.notEmptyTitle")
	var ne *staging.NotEmptyError
	if errors.As(m.problem, &ne) {
		title = t.S("stage.notEmptyPasskeys", ne.Passkeys)
	}
	body := t.S("stage.notEmptyBody")
	if o := m.owner; o != nil {
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

var errOtherKey = errors.New("unplug this key and plug in another")

// notEmpty asks whether to wipe the key, and looks for it among the keys
// already staged (by its serial number, when it shows one): a key staged
// for someone is theirs, and the wipe is not offered.
func (m *StagingModel) notEmpty(problem error) tea.Cmd {
	m.step, m.problem, m.owner = sNotEmpty, problem, nil
	path := m.key.Path
	find := call(callTimeout, func(ctx context.Context) tea.Msg {
		serial := m.stager.SerialOf(path)
		if serial == "" {
			return nil
		}
		o, err := m.stager.FindBySerial(ctx, serial)
		return sOwnerMsg{path, o, err}
	})
	return tea.Batch(m.pollKeys(false), find)
}
