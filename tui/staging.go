package tui

import (
	"context"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/staging"
)

// The kiosk's staging mode (kiosk --staging): an IT operator, signed in
// with their admin token, works through a batch of people, one key each.
// For every person: plug in a key, wipe it if it is not empty (only after
// the operator says so), set its PIN, minimum PIN length and forced PIN
// change, register it for the person, and write their PIN letter. The
// batch lives in tapd, so a pulled key, a closed kiosk or a crash goes on
// where it stopped, and nobody is registered twice.
//
// staging.Station holds the operator's place and the rules (which step
// follows which event), staging.Stager does the key and tapd work; this
// model draws the place, takes the keys, and runs each of the station's
// effects as a tea.Cmd. As in the walk-up kiosk, Update does no I/O.

// StagingConfig is the staging mode's behaviour.
type StagingConfig struct {
	Org   string
	Lang  string
	Theme string
	ASCII bool
	// Touch is how long the key waits for a touch.
	Touch time.Duration
	// KeyPoll is how often the kiosk looks for keys.
	KeyPoll time.Duration
	// Manifest is the directory the batch's manifest is written to when
	// the batch is done or the operator stops.
	Manifest string
	// Idle stops staging after this long with no key pressed, plugged or
	// pulled (default 10 minutes): a station left alone must not stay
	// signed in with an operator's token. Nothing is lost by stopping.
	Idle time.Duration
	Now  func() time.Time
}

// StagingModel is the staging mode's root model. The station's rules
// (which step follows which event) are staging.Station's; this model
// holds the screen's own state (the PIN fields, the key watch, what runs)
// and turns the station's effects into Cmds (do).
type StagingModel struct {
	cfg    StagingConfig
	stager *staging.Stager
	s      *staging.Station
	st     styles
	t      T

	width, height int
	dark          bool

	// pin1 and pin2 are the typed PIN's fields; pinRow is the person they
	// belong to, so that they are emptied when the person changes.
	pin1, pin2 textinput.Model
	pinField   int
	pinRow     string

	// pollGen numbers the key watch: each look is scheduled with the
	// current number and a newer one outdates it, so a step that starts
	// its own watch never has two running.
	pollGen int
	// lastActivity is the last key pressed, plugged or pulled, for Idle.
	lastActivity time.Time
	idleStopped  bool
	// keysNow is how many keys the last look saw, to notice a change.
	keysNow int
	// cancel stops what runs: Stage, or the wipe's wait for a touch.
	cancel context.CancelFunc
}

// NewStaging returns the staging model for a batch that tapd has.
func NewStaging(cfg StagingConfig, s *staging.Stager, b api.StagingBatch) (*StagingModel, error) {
	if cfg.Lang == "" {
		cfg.Lang = "en"
	}
	t, err := NewT(cfg.Lang)
	if err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Touch <= 0 {
		cfg.Touch = 60 * time.Second
	}
	if cfg.KeyPoll <= 0 {
		cfg.KeyPoll = fido.DefaultPollInterval
	}
	if cfg.Idle <= 0 {
		cfg.Idle = 10 * time.Minute
	}
	m := &StagingModel{cfg: cfg, stager: s, t: t, width: 80, height: 24, dark: true, lastActivity: cfg.Now(),
		s: staging.NewStation(b, s.Opts, cfg.Manifest != "")}
	m.st = newStyles(m.theme(), true)
	m.pin1, m.pin2 = newField(63, true), newField(63, true)
	return m, nil
}

func (m *StagingModel) theme() string { return themeName(m.cfg.Theme, m.dark) }

// Summary is what the run did, for the kiosk to say after the screen
// closes: keys staged this run, the batch's counts, the manifest's paths.
func (m *StagingModel) Summary() (staged int, b api.StagingBatch, manifest []string) {
	return m.s.StagedCount, m.s.Batch, m.s.Manifest
}

// Quitting reports whether the operator stopped (for the exit code).
func (m *StagingModel) Quitting() bool { return m.s.Quitting }

// IdleStopped reports whether staging stopped because nobody was there.
func (m *StagingModel) IdleStopped() bool { return m.idleStopped }

// ManifestErr is why the manifest could not be written at the end, if
// it could not: the kiosk says so after the screen is gone.
func (m *StagingModel) ManifestErr() error { return m.s.ManifestErr }

// Init reads the batch afresh and asks the terminal's background.
func (m *StagingModel) Init() tea.Cmd {
	return tea.Batch(m.readBatch(), tea.RequestBackgroundColor, m.tick())
}

// tick redraws once a second, for the touch box's spinner.
func (m *StagingModel) tick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return sTickMsg(t) })
}

func (m *StagingModel) readBatch() tea.Cmd {
	id := m.s.Batch.ID
	return call(callTimeout, func(ctx context.Context) tea.Msg {
		b, err := m.stager.Client.GetStagingBatch(ctx, id)
		return sBatchMsg{b, err}
	})
}

// stagingScreen is one step of staging, as screen is one of the walk-up
// journey: its keys (which the help bar shows), what a key press does,
// and what it draws in a column w cells wide. Each is in its own file,
// staging_step_*.go.
type stagingScreen interface {
	keys(m *StagingModel) []key.Binding
	update(m *StagingModel, k tea.KeyPressMsg) tea.Cmd
	view(m *StagingModel, w int) string
}

// stagingScreens maps each staging step to its screen.
var stagingScreens = map[staging.Step]stagingScreen{
	staging.StepOverview:   stageOverviewStep{},
	staging.StepPlug:       stagePlugStep{},
	staging.StepNotEmpty:   stageNotEmptyStep{},
	staging.StepResetPlug:  stageResetPlugStep{},
	staging.StepResetTouch: stageResetTouchStep{},
	staging.StepTypePIN:    stageTypePINStep{},
	staging.StepWork:       stageWorkStep{},
	staging.StepStaged:     stageStagedStep{},
	staging.StepFailed:     stageFailedStep{},
	staging.StepElsewhere:  stageElsewhereStep{},
	staging.StepDone:       stageDoneStep{},
}

// Keys.
func (m *StagingModel) bind(desc, label string, keys ...string) key.Binding {
	return binding(m.t, desc, label, keys...)
}
func (m *StagingModel) keyQuit() key.Binding {
	return m.bind("stage.help.stop", "ctrl+c", "ctrl+c", "ctrl+q")
}
func (m *StagingModel) keyStart() key.Binding { return m.bind("stage.help.start", "enter", "enter") }
func (m *StagingModel) keySkip() key.Binding  { return m.bind("stage.help.skip", "ctrl+s", "ctrl+s") }
func (m *StagingModel) keyRetry() key.Binding { return m.bind("stage.help.retry", "enter", "enter") }
func (m *StagingModel) keyWipe() key.Binding  { return m.bind("stage.help.wipe", "ctrl+w", "ctrl+w") }
func (m *StagingModel) keyOther() key.Binding { return m.bind("stage.help.otherKey", "esc", "esc") }
func (m *StagingModel) keyCancel() key.Binding {
	return m.bind("help.cancel", "esc", "esc")
}

// bindings are the keys the help bar shows now; onKey acts on the same.
func (m *StagingModel) bindings() []key.Binding {
	if m.s.StopAsked {
		return []key.Binding{m.bind("stage.help.stopYes", "y", "y"), m.bind("stage.help.stopNo", "n", "n", "esc")}
	}
	if m.s.SkipAsked {
		return []key.Binding{m.bind("stage.help.skipYes", "y", "y"), m.bind("stage.help.stopNo", "n", "n", "esc")}
	}
	return append(stagingScreens[m.s.Step].keys(m), m.keyQuit())
}

// onKey answers the stop and skip questions, then Ctrl+C, then hands the
// key to the step's screen (unless something is under way).
func (m *StagingModel) onKey(k tea.KeyPressMsg) tea.Cmd {
	if m.s.StopAsked {
		switch k.String() {
		case "y":
			return m.do(m.s.AnswerStop(true))
		case "n", "esc":
			m.s.AnswerStop(false)
		}
		return nil
	}
	if m.s.SkipAsked {
		switch k.String() {
		case "y":
			return m.do(m.s.AnswerSkip(true, m.skipWhy()))
		case "n", "esc":
			m.s.AnswerSkip(false, "")
		}
		return nil
	}
	if key.Matches(k, m.keyQuit()) {
		return m.do(m.s.AskStop())
	}
	if m.s.Busy != staging.NotBusy {
		return nil
	}
	return stagingScreens[m.s.Step].update(m, k)
}
