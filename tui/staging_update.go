package tui

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/staging"
)

// The staging model's messages, each reported to the station
// (staging.Station), and do, which turns the station's effects into Cmds.

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

// Update routes one message: the station judges it, and its effect
// becomes a Cmd (do). The PIN fields are emptied when the person changes.
func (m *StagingModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	if m.s.Row.ID != m.pinRow {
		m.pinRow, m.pinField = m.s.Row.ID, 0
		m.pin1.Reset()
		m.pin2.Reset()
	}
	return m, cmd
}

func (m *StagingModel) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tea.BackgroundColorMsg:
		m.dark = msg.IsDark()
		m.st = newStyles(m.theme(), m.dark)
	case sTickMsg:
		if m.s.IdleCounts() && m.cfg.Now().Sub(m.lastActivity) >= m.cfg.Idle {
			m.idleStopped = true
			return m.do(m.s.Stop())
		}
		return m.tick()
	case tea.KeyPressMsg:
		m.lastActivity = m.cfg.Now()
		return m.onKey(msg)
	case tea.PasteMsg:
		if m.s.Step == staging.StepTypePIN {
			return m.typePIN(msg)
		}
	case sBatchMsg:
		return m.do(m.s.BatchRead(msg.b, msg.err))
	case sKeysMsg:
		if msg.gen != m.pollGen {
			return nil // outdated by a newer watch
		}
		if len(msg.keys) != m.keysNow {
			m.keysNow, m.lastActivity = len(msg.keys), m.cfg.Now()
		}
		return m.do(m.s.KeysSeen(msg.keys, msg.err))
	case sPINMsg:
		return m.do(m.s.PINDrawn(msg.pin, msg.err))
	case sFactsMsg:
		return m.do(m.s.FactsRead(msg.info, msg.err))
	case sVerifiedMsg:
		return m.do(m.s.PINChecked(msg.err))
	case sResetMsg:
		m.cancel = nil
		return m.do(m.s.ResetDone(msg.err))
	case sEventMsg:
		return m.stageEvent(msg)
	case sOwnerMsg:
		m.s.OwnerFound(msg.path, msg.owner, msg.err)
	case sFailedMsg:
		return m.do(m.s.Marked(msg.err))
	case sManifestMsg:
		return m.do(m.s.ManifestWritten(msg.paths, msg.err))
	}
	return nil
}

// do turns the station's effect into the Cmd that performs it. Once the
// run is stopping, whatever still runs is cancelled first.
func (m *StagingModel) do(e staging.Effect) tea.Cmd {
	if m.s.Quitting && m.cancel != nil {
		m.cancel()
		m.cancel = nil
	}
	s := m.s
	switch e {
	case staging.DoWatchKeys:
		return m.pollKeys(false)
	case staging.DoLookNow:
		return m.pollKeys(true)
	case staging.DoReadFacts:
		path := s.Key.Path
		return func() tea.Msg { info, err := fido.GetInfo(path); return sFactsMsg{info, err} }
	case staging.DoCheckPIN:
		path, pin := s.Key.Path, s.PIN()
		return call(callTimeout, func(ctx context.Context) tea.Msg { return sVerifiedMsg{fido.VerifyPIN(ctx, path, pin)} })
	case staging.DoFindOwner:
		return tea.Batch(m.pollKeys(false), m.findOwner())
	case staging.DoWipe:
		path := s.Key.Path
		ctx, cancel := context.WithTimeout(context.Background(), m.cfg.Touch)
		m.cancel = cancel
		return func() tea.Msg { defer cancel(); return sResetMsg{fido.Reset(ctx, path)} }
	case staging.DoDrawPIN:
		o := m.stager.Opts
		return func() tea.Msg { pin, err := staging.RandomPIN(o.PINLength, o.Alphabet); return sPINMsg{pin, err} }
	case staging.DoAskPIN:
		m.pin1.Reset()
		m.pin2.Reset()
		return m.focusPIN(0)
	case staging.DoStage, staging.DoStageOnKey:
		return m.startStage(e == staging.DoStageOnKey)
	case staging.DoReload:
		return m.readBatch()
	case staging.DoMarkSkipped:
		row, reason := s.Row, s.SkipReason
		return call(callTimeout, func(ctx context.Context) tea.Msg { return sFailedMsg{m.stager.Fail(ctx, row, reason)} })
	case staging.DoWriteManifest:
		return call(callTimeout, func(ctx context.Context) tea.Msg {
			paths, err := m.stager.WriteManifest(ctx, m.cfg.Manifest)
			return sManifestMsg{paths, err}
		})
	case staging.DoCancel:
		if m.cancel != nil {
			m.cancel() // the Cmd answers ErrCancelled
		}
	case staging.DoQuit:
		return tea.Quit
	}
	return nil
}

// busyWords are the catalogue's words for what the station waits for.
var busyWords = map[staging.Busy]string{staging.BusyReading: "key.reading", staging.BusyCheckingPIN: "stage.checkingPIN",
	staging.BusySkipping: "stage.skipping", staging.BusyManifest: "stage.writingManifest"}

// busyText is what is under way, in words ("" for nothing).
func (m *StagingModel) busyText() string {
	if w, ok := busyWords[m.s.Busy]; ok {
		return m.t.S(w)
	}
	return ""
}
