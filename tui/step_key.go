package tui

import (
	"errors"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/flows"
)

// insertKeyStep waits for one security key and reads what it can do.
type insertKeyStep struct{}

func (insertKeyStep) keys(m *Model) []key.Binding {
	if m.j.OnBackup() {
		return backupStep{}.keys(m)
	}
	useIt := m.bind("help.useThisKey", "enter", "enter")
	useIt.SetEnabled(errors.Is(m.j.Problem, flows.ErrSwapKey))
	return []key.Binding{useIt, m.keyLeave()}
}

func (s insertKeyStep) update(m *Model, k tea.KeyPressMsg) tea.Cmd {
	if m.j.OnBackup() {
		return backupStep{}.update(m, k)
	}
	switch {
	case key.Matches(k, s.keys(m)[0]):
		// Esc at a PIN step by mistake: the key in the port after all.
		m.j.UseSetAside()
		return m.pollKeys(true)
	case key.Matches(k, m.keyLeave()):
		m.askSignOut()
	}
	return nil
}

func (insertKeyStep) view(m *Model, w int) string {
	if m.j.OnBackup() {
		return backupStep{}.view(m, w)
	}
	st, t := m.st, m.t
	out := m.greeting(w) + para(st.title, t.S("key.insert"), w) + "\n"
	if m.busy != "" {
		out += m.busyView()
	} else {
		out += st.hint.Render(t.S("key.waiting"))
	}
	if !errors.Is(m.j.Problem, fido.ErrNoKey) { // the title already says it
		out += m.problemView(w)
	}
	return out
}

// pollKeys looks for keys now or after KeyPoll; keysSeen looks again
// while the step watches the key. Each look is stamped with a new
// generation and only the newest is acted on, so starting a watch while
// another is pending replaces it: there is never more than one.
func (m *Model) pollKeys(now bool) tea.Cmd {
	m.keyGen++
	gen := m.keyGen
	look := func() tea.Msg { ks, err := m.svc.Keys(); return keysMsg{ks, err, gen} }
	if now {
		return look
	}
	return m.cfg.Timer(m.cfg.KeyPoll, func(time.Time) tea.Msg { return look() })
}

func (m *Model) keysSeen(msg keysMsg) tea.Cmd {
	j := m.j
	if msg.gen != m.keyGen {
		return nil // a watch another has replaced
	}
	if j.CheckKeyGone() {
		if msg.err == nil && j.KeysSeen(msg.keys) {
			return m.checkKey() // it is back: check it again
		}
		return m.pollKeys(false)
	}
	switch {
	case j.Step == flows.StepReplugKey:
		if msg.err == nil {
			j.KeysSeen(msg.keys) // waits for the key to leave
		}
		return m.pollKeys(j.Step == flows.StepInsertKey)
	case pinStep(j.Step):
		// The PIN steps watch the key: one pulled goes back to Insert
		// key at once, and what was typed is dropped. While the key is
		// judging a PIN its own answer says what became of it.
		if msg.err == nil && m.busy == "" {
			j.KeysSeen(msg.keys)
			if j.Step == flows.StepInsertKey {
				m.clearPINs()
				m.pinField = 0
			}
		}
		return m.pollKeys(j.Step == flows.StepInsertKey)
	case j.Step == flows.StepKnownKey:
		// A key that leaves goes back to Insert key. While a call runs
		// (the methods, the check's touch, the old registration's
		// removal) its own answer says what became of the key.
		if msg.err == nil && !m.touching && m.busy == "" {
			j.KeysSeen(msg.keys)
		}
		return m.pollKeys(j.Step == flows.StepInsertKey)
	}
	if j.Step != flows.StepInsertKey {
		return nil
	}
	if msg.err != nil {
		return m.pollKeys(false)
	}
	if j.KeysSeen(msg.keys) {
		if !j.Rereading() { // a refused key read again keeps its refusal on screen
			m.busy = m.t.S("key.reading")
		}
		path := j.Key.Path
		return func() tea.Msg { info, pin, err := m.svc.KeyFacts(path); return factsMsg{info, pin, err} }
	}
	return m.pollKeys(false)
}

func (m *Model) keyFacts(msg factsMsg) tea.Cmd {
	if m.j.Step != flows.StepInsertKey {
		// A late answer: a refused key's quiet re-read sets no busy, so
		// the person may have moved on (Enter at the backup offer). What
		// runs now has its own busy; leave it.
		return nil
	}
	m.busy = ""
	m.j.KeyFacts(msg.info, msg.pin, msg.err)
	switch m.j.Step {
	case flows.StepNewPIN:
		m.pinField = 0
		return tea.Batch(m.pin1.Focus(), m.pollKeys(false))
	case flows.StepEnterPIN, flows.StepChangePIN:
		return m.afterPIN()
	case flows.StepInsertKey:
		return m.pollKeys(false)
	}
	return nil
}

// backToKey is Esc at a PIN or naming step: put this key aside and wait
// for another (flows sets it aside until it is taken out).
func (m *Model) backToKey() tea.Cmd {
	if !m.j.Back() {
		return nil
	}
	m.lookedFull = false
	m.clearPINs()
	m.name.Reset()
	m.name.Blur()
	m.pinField = 0
	return m.pollKeys(true)
}

// pinStep reports the steps where a PIN is typed.
func pinStep(s flows.Step) bool {
	return s == flows.StepNewPIN || s == flows.StepEnterPIN || s == flows.StepChangePIN
}
