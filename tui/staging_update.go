package tui

import (
	"context"
	"errors"
	"slices"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/staging"
)

// The staging model's messages and what each changes: the batch read,
// the key watch, the running Stage's events, the wipe, the skip.

type (
	sBatchMsg struct {
		b   api.StagingBatch
		err error
	}
	sKeysMsg struct {
		gen  int
		keys []fido.Key
		err  error
	}
	sPINMsg struct {
		pin string
		err error
	}
	sFactsMsg struct {
		info fido.Info
		err  error
	}
	sVerifiedMsg struct{ err error }
	sResetMsg    struct{ err error }
	// sEventMsg is one event of a running Stage: a phase, or its end.
	sEventMsg struct {
		msg tea.Msg
		ch  <-chan tea.Msg
	}
	sPhaseMsg  staging.Phase
	sResultMsg struct {
		res staging.Result
		err error
	}
	sFailedMsg struct{ err error }
	sOwnerMsg  struct {
		path  string
		owner *staging.Owner
		err   error
	}
	sManifestMsg struct {
		paths []string
		err   error
	}
	sTickMsg time.Time
)

func (m *StagingModel) pollKeys(now bool) tea.Cmd {
	m.pollGen++
	gen := m.pollGen
	look := func() tea.Msg { ks, err := fido.Keys(); return sKeysMsg{gen, ks, err} }
	if now {
		return look
	}
	return tea.Tick(m.cfg.KeyPoll, func(time.Time) tea.Msg { return look() })
}

// Update routes one message; it changes state and returns Cmds.
func (m *StagingModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return m, nil
	case tea.BackgroundColorMsg:
		m.dark = msg.IsDark()
		m.st = newStyles(m.theme(), m.dark)
		return m, nil
	case sTickMsg:
		if m.step != sWork && m.step != sResetTouch && !m.quitting && m.cfg.Now().Sub(m.lastActivity) >= m.cfg.Idle {
			m.idleStopped = true
			return m, m.stop()
		}
		return m, m.tick()
	case tea.KeyPressMsg:
		m.lastActivity = m.cfg.Now()
		return m, m.onKey(msg)
	case tea.PasteMsg:
		if m.step == sTypePIN {
			return m, m.typePIN(msg)
		}
		return m, nil
	case sBatchMsg:
		return m, m.batchRead(msg)
	case sKeysMsg:
		if msg.gen != m.pollGen {
			return m, nil // outdated by a newer watch
		}
		if len(msg.keys) != m.keysNow {
			m.keysNow, m.lastActivity = len(msg.keys), m.cfg.Now()
		}
		return m, m.keysSeen(msg)
	case sPINMsg:
		if msg.err != nil {
			m.step, m.problem = sFailed, msg.err
			return m, nil
		}
		m.pin = msg.pin
		return m, m.startStage(false)
	case sFactsMsg:
		return m, m.factsRead(msg)
	case sVerifiedMsg:
		m.busy = ""
		var wrong *fido.PINWrongError
		switch {
		case msg.err == nil:
			m.pinOnKey = true
			return m, m.startStage(true)
		case errors.As(msg.err, &wrong), errors.Is(msg.err, fido.ErrPINBlocked), errors.Is(msg.err, fido.ErrPINAuthBlocked):
			// Not this person's PIN after all (another key): the key
			// must be wiped to be staged.
			return m, m.notEmpty(nil)
		case errors.Is(msg.err, fido.ErrKeyRemoved):
			m.step, m.problem = sPlug, msg.err
		default:
			m.step, m.problem = sFailed, msg.err
			return m, nil
		}
		return m, m.pollKeys(false)
	case sResetMsg:
		m.cancel = nil
		return m, m.resetDone(msg.err)
	case sEventMsg:
		return m, m.stageEvent(msg)
	case sOwnerMsg:
		if m.step == sNotEmpty && msg.path == m.key.Path && msg.err == nil {
			m.owner = msg.owner
		}
		return m, nil
	case sFailedMsg:
		m.busy = ""
		if msg.err != nil {
			m.problem = msg.err
			return m, nil
		}
		m.endRow()
		return m, m.reload()
	case sManifestMsg:
		m.busy = ""
		m.manifest, m.problem, m.manifestErr = msg.paths, msg.err, msg.err
		if m.quitting {
			return m, tea.Quit
		}
		return m, nil
	}
	return m, nil
}

func (m *StagingModel) batchRead(msg sBatchMsg) tea.Cmd {
	m.busy = ""
	next := m.reloading
	m.reloading = false
	if msg.err != nil {
		if next {
			// tapd out of reach between two people: say so, and Enter
			// asks again (sFailed with no row).
			m.step, m.problem, m.row = sFailed, msg.err, api.StagingRow{}
		}
		return nil
	}
	m.batch = msg.b
	if !next {
		return nil
	}
	return m.nextRow()
}

// nextRow goes to the batch's next pending person, or to the end.
func (m *StagingModel) nextRow() tea.Cmd {
	row, pos, ok := staging.Next(m.batch, m.skipped)
	if !ok {
		m.step = sDone
		return m.writeManifest()
	}
	m.row, m.pos, m.step, m.problem = row, pos, sPlug, m.notice
	m.notice = nil
	return m.pollKeys(true)
}

// endRow forgets everything of the person whose key is done: their PIN
// above all.
func (m *StagingModel) endRow() {
	m.pin, m.weakOK, m.pinField = "", false, 0
	m.pin1.Reset()
	m.pin2.Reset()
	m.result, m.problem, m.row = staging.Result{}, nil, api.StagingRow{}
	m.pinOnKey, m.skipWipe, m.skipReason = false, false, ""
}

func (m *StagingModel) keysSeen(msg sKeysMsg) tea.Cmd {
	if msg.err != nil {
		return m.pollKeys(false)
	}
	switch m.step {
	case sPlug:
		if len(msg.keys) != 1 || m.busy != "" {
			if len(msg.keys) > 1 {
				m.problem = fido.ErrSeveralKeys
			} else if errors.Is(m.problem, fido.ErrSeveralKeys) {
				m.problem = nil
			}
			return m.pollKeys(false)
		}
		m.key = msg.keys[0]
		m.busy = m.t.S("key.reading")
		path := m.key.Path
		return func() tea.Msg { info, err := fido.GetInfo(path); return sFactsMsg{info, err} }
	case sStaged, sNotEmpty, sElsewhere:
		// The staged key (or one the operator will not wipe) must leave
		// before the next person's is taken.
		if !slices.ContainsFunc(msg.keys, func(k fido.Key) bool { return k.Path == m.key.Path }) {
			if m.step != sNotEmpty {
				if m.step == sElsewhere {
					m.notice = m.problem
				}
				m.endRow()
				return m.reload()
			}
			m.step, m.problem = sPlug, nil
			return m.pollKeys(false)
		}
		return m.pollKeys(false)
	case sResetPlug:
		// Gone is no key at all, back is one key, whatever its path: a
		// key plugged in again may come back as another hidraw node.
		if len(msg.keys) == 0 {
			m.keyGone = true
			return m.pollKeys(false)
		}
		if !m.keyGone || len(msg.keys) != 1 {
			return m.pollKeys(false)
		}
		// Back in: reset at once, inside the key's first seconds.
		m.key, m.keyGone = msg.keys[0], false
		m.step, m.problem = sResetTouch, nil
		path := m.key.Path
		ctx, cancel := context.WithTimeout(context.Background(), m.cfg.Touch)
		m.cancel = cancel
		return func() tea.Msg { defer cancel(); return sResetMsg{fido.Reset(ctx, path)} }
	}
	return nil
}
