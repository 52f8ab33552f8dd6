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
// staging.Stager does the key and tapd work; this model holds the
// operator's place and draws it. As in the walk-up kiosk, Update does no
// I/O: every call runs in a tea.Cmd.

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

type sStep int

const (
	sOverview   sStep = iota // the batch and its settings
	sPlug                    // plug in the key for the next person
	sNotEmpty                // the key has a PIN: wipe it?
	sResetPlug               // unplug and plug back in, for the reset
	sResetTouch              // touch to confirm the reset
	sTypePIN                 // the operator types the PIN (typed PINs)
	sWork                    // setting the key up and registering it
	sStaged                  // done: unplug it
	sFailed                  // this person's key could not be staged
	sElsewhere               // this person is done, or being done, elsewhere: unplug
	sDone                    // no pending person left
)

// StagingModel is the staging mode's root model.
type StagingModel struct {
	cfg    StagingConfig
	stager *staging.Stager
	st     styles
	t      T

	width, height int
	dark          bool
	quitAsk       bool
	skipAsk       bool // "skip this person?", asked before it is done
	// pinOnKey: the person's key holds their PIN (set this run, or found
	// on a key plugged back in). Skipping them then wipes the key first,
	// after the operator confirms, so that no key is left with a PIN
	// whose letter is gone; skipWipe is that wipe under way, and
	// skipReason the reason the row will get.
	pinOnKey   bool
	skipWipe   bool
	skipReason string

	step    sStep
	batch   api.StagingBatch
	row     api.StagingRow
	pos     int
	skipped map[string]bool // rows another station holds, this run

	key  fido.Key
	info fido.Info
	// pin is this person's PIN, drawn or typed once for them and held only
	// until their key is done (a retry after a pulled key needs it); it
	// is never drawn on the screen.
	pin        string
	pin1, pin2 textinput.Model
	pinField   int
	weakOK     bool // the operator pressed Enter again on a weak PIN

	// keyGone: the key left since the last look (for the reset replug).
	keyGone bool
	// pollGen numbers the key watch: each look is scheduled with the
	// current number and a newer one outdates it, so a step that starts
	// its own watch never has two running.
	pollGen int
	// lastActivity is the last key pressed, plugged or pulled, for Idle.
	lastActivity time.Time
	idleStopped  bool
	// owner is whom the key in sNotEmpty was staged for, if it was: while
	// it holds the key no wipe is offered; once its registration is gone
	// the wipe is, under a title naming whose key it was.
	owner *staging.Owner
	// keysNow is how many keys the last look saw, to notice a change.
	keysNow int
	// reloading: a batch read was asked for to go on to the next person;
	// one that answers otherwise (Init's) only updates the counts.
	reloading bool
	phase     staging.Phase
	cancel    context.CancelFunc
	busy      string
	problem   error
	result    staging.Result
	stagedN   int // keys staged this run
	// notice is shown on the next person's screen: why the last one was
	// passed over (done elsewhere, held by another station).
	notice   error
	manifest []string
	// manifestErr is a manifest that could not be written, for the exit.
	manifestErr error
	quitting    bool
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
	m := &StagingModel{cfg: cfg, stager: s, t: t, width: 80, height: 24, dark: true, batch: b, skipped: map[string]bool{}, lastActivity: cfg.Now()}
	m.st = newStyles(m.theme(), true)
	m.pin1, m.pin2 = newField(63, true), newField(63, true)
	return m, nil
}

func (m *StagingModel) theme() string { return themeName(m.cfg.Theme, m.dark) }

// touching reports whether the key waits for a touch now: the wipe's, or
// the registration's.
func (m *StagingModel) touching() bool {
	return m.step == sResetTouch || (m.step == sWork && m.phase == staging.PhaseTouch)
}

// Summary is what the run did, for the kiosk to say after the screen
// closes: keys staged this run, the batch's counts, the manifest's paths.
func (m *StagingModel) Summary() (staged int, b api.StagingBatch, manifest []string) {
	return m.stagedN, m.batch, m.manifest
}

// Quitting reports whether the operator stopped (for the exit code).
func (m *StagingModel) Quitting() bool { return m.quitting }

// IdleStopped reports whether staging stopped because nobody was there.
func (m *StagingModel) IdleStopped() bool { return m.idleStopped }

// ManifestErr is why the manifest could not be written at the end, if
// it could not: the kiosk says so after the screen is gone.
func (m *StagingModel) ManifestErr() error { return m.manifestErr }

// Init reads the batch afresh and asks the terminal's background.
func (m *StagingModel) Init() tea.Cmd {
	return tea.Batch(m.readBatch(), tea.RequestBackgroundColor, m.tick())
}

// tick redraws once a second, for the touch box's spinner.
func (m *StagingModel) tick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return sTickMsg(t) })
}

// reload reads the batch, then goes on to the next pending person.
func (m *StagingModel) reload() tea.Cmd {
	m.reloading = true
	return m.readBatch()
}

func (m *StagingModel) readBatch() tea.Cmd {
	id := m.batch.ID
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
var stagingScreens = map[sStep]stagingScreen{
	sOverview:   stageOverviewStep{},
	sPlug:       stagePlugStep{},
	sNotEmpty:   stageNotEmptyStep{},
	sResetPlug:  stageResetPlugStep{},
	sResetTouch: stageResetTouchStep{},
	sTypePIN:    stageTypePINStep{},
	sWork:       stageWorkStep{},
	sStaged:     stageStagedStep{},
	sFailed:     stageFailedStep{},
	sElsewhere:  stageElsewhereStep{},
	sDone:       stageDoneStep{},
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
	if m.quitAsk {
		return []key.Binding{m.bind("stage.help.stopYes", "y", "y"), m.bind("stage.help.stopNo", "n", "n", "esc")}
	}
	if m.skipAsk {
		return []key.Binding{m.bind("stage.help.skipYes", "y", "y"), m.bind("stage.help.stopNo", "n", "n", "esc")}
	}
	return append(stagingScreens[m.step].keys(m), m.keyQuit())
}

// onKey answers the stop and skip questions, then Ctrl+C, then hands the
// key to the step's screen (unless something is under way).
func (m *StagingModel) onKey(k tea.KeyPressMsg) tea.Cmd {
	if m.quitAsk {
		switch k.String() {
		case "y":
			return m.stop()
		case "n", "esc":
			m.quitAsk = false
		}
		return nil
	}
	if m.skipAsk {
		switch k.String() {
		case "y":
			m.skipAsk = false
			return m.skip()
		case "n", "esc":
			m.skipAsk = false
		}
		return nil
	}
	if key.Matches(k, m.keyQuit()) {
		if m.step == sDone || m.step == sOverview {
			return m.stop()
		}
		m.quitAsk = true
		return nil
	}
	if m.busy != "" {
		return nil
	}
	return stagingScreens[m.step].update(m, k)
}
