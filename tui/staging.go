package tui

import (
	"context"
	"errors"
	"slices"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/flows"
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

func (m *StagingModel) writeManifest() tea.Cmd {
	if m.cfg.Manifest == "" {
		if m.quitting {
			return tea.Quit
		}
		return nil
	}
	m.busy = m.t.S("stage.writingManifest")
	return call(callTimeout, func(ctx context.Context) tea.Msg {
		paths, err := m.stager.WriteManifest(ctx, m.cfg.Manifest)
		return sManifestMsg{paths, err}
	})
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

func (m *StagingModel) factsRead(msg sFactsMsg) tea.Cmd {
	m.busy = ""
	if msg.err != nil {
		m.problem = msg.err
		m.step = sFailed
		return nil
	}
	m.info = msg.info
	switch {
	case msg.info.PINSet && m.pin != "":
		// Most likely this person's key, back after it was pulled: their
		// PIN is on it already. VerifyPIN tells (and costs one try if not).
		m.busy = m.t.S("stage.checkingPIN")
		path, pin := m.key.Path, m.pin
		return call(callTimeout, func(ctx context.Context) tea.Msg { return sVerifiedMsg{fido.VerifyPIN(ctx, path, pin)} })
	case msg.info.PINSet:
		return m.notEmpty(nil)
	}
	return m.choosePIN()
}

// choosePIN draws the person's PIN, or asks the operator for it.
func (m *StagingModel) choosePIN() tea.Cmd {
	o := m.stager.Opts
	if o.PINs == staging.TypedPINs {
		if m.pin != "" {
			return m.startStage(false)
		}
		m.step, m.pinField = sTypePIN, 0
		return m.pin1.Focus()
	}
	if m.pin == "" {
		return func() tea.Msg { pin, err := staging.RandomPIN(o.PINLength, o.Alphabet); return sPINMsg{pin, err} }
	}
	return m.startStage(false)
}

// startStage runs the Stager in a Cmd; its phases come back one by one
// through a channel (sEventMsg), so the screen follows the key. Stage
// bounds its own steps (the touch, each call to tapd); the context here
// is for Esc and stopping. The channel holds every phase and the result,
// so Stage never waits on a screen that has stopped reading.
func (m *StagingModel) startStage(pinSet bool) tea.Cmd {
	m.step, m.problem, m.phase = sWork, nil, staging.PhaseOptions
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	row, k, pin := m.row, m.key, m.pin
	ch := make(chan tea.Msg, len(staging.Phases)+1)
	return func() tea.Msg {
		go func() {
			defer cancel()
			res, err := m.stager.Stage(ctx, row, k, pin, pinSet, func(p staging.Phase) { ch <- sPhaseMsg(p) })
			ch <- sResultMsg{res, err}
			close(ch)
		}()
		return waitOn(ch)()
	}
}

func waitOn(ch <-chan tea.Msg) tea.Cmd {
	return func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return nil
		}
		return sEventMsg{msg, ch}
	}
}

func (m *StagingModel) stageEvent(ev sEventMsg) tea.Cmd {
	switch msg := ev.msg.(type) {
	case sPhaseMsg:
		m.phase = staging.Phase(msg)
		if m.phase > staging.PhasePIN {
			m.pinOnKey = true // the PIN phase is over: the key has it
		}
		return waitOn(ev.ch)
	case sResultMsg:
		m.cancel = nil
		return m.staged(msg)
	}
	return nil
}

func (m *StagingModel) staged(msg sResultMsg) tea.Cmd {
	var ae *api.Error
	switch {
	case msg.err == nil:
		m.result, m.stagedN, m.step = msg.res, m.stagedN+1, sStaged
		m.batch.RegisteredCount++ // tapd's count says so too; the header need not wait for it
		m.batch.PendingCount = max(m.batch.PendingCount-1, 0)
		m.pin = "" // on the key and in the letter; not needed any more
		return m.pollKeys(false)
	case errors.Is(msg.err, staging.ErrNotEmpty):
		return m.notEmpty(msg.err)
	case errors.Is(msg.err, fido.ErrKeyRemoved):
		// Pulled out: plugged back in, it goes on (its PIN is checked).
		m.step, m.problem = sPlug, msg.err
		return m.pollKeys(false)
	case errors.As(msg.err, &ae) && (ae.Code == api.CodeStagingRowRegistered || ae.Code == api.CodeStagingRowBusy):
		// Done or being done elsewhere (another station, an earlier
		// run): say so, and go on once this key is out, so that it is
		// not taken for the next person's.
		if ae.Code == api.CodeStagingRowBusy {
			m.skipped[m.row.ID] = true
		}
		m.step, m.problem = sElsewhere, msg.err
		return m.pollKeys(false)
	}
	m.step, m.problem = sFailed, msg.err
	return nil
}

func (m *StagingModel) resetDone(err error) tea.Cmd {
	switch {
	case err == nil && m.skipWipe:
		// The skipped person's key is empty again: now the row is marked
		// and the letter deleted.
		m.skipWipe, m.pinOnKey, m.step = false, false, sFailed // if marking fails, Ctrl+S asks again
		return m.markSkipped(m.skipReason)
	case err == nil:
		m.busy = m.t.S("key.reading")
		path := m.key.Path
		m.step = sPlug
		return func() tea.Msg { info, err := fido.GetInfo(path); return sFactsMsg{info, err} }
	case errors.Is(err, fido.ErrResetNotAllowed), errors.Is(err, fido.ErrKeyRemoved):
		m.step, m.problem, m.keyGone = sResetPlug, err, false
		return m.pollKeys(false)
	}
	// Refused on the key, no touch, cancelled: ask again.
	return m.notEmpty(err)
}

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
	var bs []key.Binding
	switch m.step {
	case sOverview:
		bs = []key.Binding{m.keyStart()}
	case sPlug:
		bs = []key.Binding{m.keySkip()}
	case sNotEmpty:
		bs = []key.Binding{m.keyWipe(), m.keyOther(), m.keySkip()}
		if m.owner.Holds() {
			bs = []key.Binding{m.keyOther(), m.keySkip()} // not theirs to wipe here
		}
	case sResetPlug, sResetTouch:
		bs = []key.Binding{m.keyCancel()}
	case sTypePIN:
		bs = []key.Binding{m.bind("help.next", "enter", "enter"), m.keySkip()}
	case sWork:
		if m.touching() {
			bs = []key.Binding{m.keyCancel()}
		}
	case sFailed:
		bs = []key.Binding{m.keyRetry(), m.keySkip()}
	case sDone:
		bs = []key.Binding{m.bind("stage.help.finish", "enter", "enter")}
	}
	return append(bs, m.keyQuit())
}

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
	switch m.step {
	case sOverview:
		if key.Matches(k, m.keyStart()) {
			m.step = sPlug
			return m.nextRow()
		}
	case sPlug:
		if key.Matches(k, m.keySkip()) {
			return m.askSkip()
		}
	case sNotEmpty:
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
	case sResetPlug, sResetTouch:
		if key.Matches(k, m.keyCancel()) {
			m.skipWipe = false // the skip waits for the operator again
			if m.cancel != nil {
				m.cancel() // Reset answers ErrCancelled: back to the question
				return nil
			}
			return m.notEmpty(nil)
		}
	case sTypePIN:
		if key.Matches(k, m.keySkip()) {
			return m.askSkip()
		}
		return m.typePIN(k)
	case sWork:
		if m.touching() && key.Matches(k, m.keyCancel()) && m.cancel != nil {
			m.cancel()
		}
	case sFailed:
		switch {
		case key.Matches(k, m.keyRetry()):
			if m.row.ID == "" {
				m.problem = nil
				return m.reload()
			}
			m.problem, m.step = nil, sPlug
			return m.pollKeys(true)
		case key.Matches(k, m.keySkip()):
			return m.askSkip()
		}
	case sDone:
		if k.String() == "enter" {
			return m.stop()
		}
	}
	return nil
}

var errOtherKey = errors.New("unplug this key and plug in another")

// askSkip asks before a person is marked not staged: one key would
// otherwise take them out of the batch.
func (m *StagingModel) askSkip() tea.Cmd {
	if m.row.ID != "" {
		m.skipAsk = true
	}
	return nil
}

// skipReason is the reason a skipped row gets: the last problem, or
// "skipped".
func (m *StagingModel) skipWhy() string {
	if m.problem != nil {
		return m.explain(m.problem)
	}
	return m.t.S("stage.skipped")
}

// skip marks the person failed (with skipWhy's reason) and goes on to
// the next. A key that holds their PIN is wiped first (the operator was
// told so when asked): replugged and touched, as any wipe.
func (m *StagingModel) skip() tea.Cmd {
	if m.row.ID == "" {
		return nil
	}
	if m.pinOnKey {
		m.skipWipe, m.skipReason = true, m.skipWhy()
		m.step, m.problem, m.keyGone = sResetPlug, nil, false
		return m.pollKeys(false)
	}
	return m.markSkipped(m.skipWhy())
}

// markSkipped marks the row failed with reason and deletes its letter.
func (m *StagingModel) markSkipped(reason string) tea.Cmd {
	row := m.row
	m.busy = m.t.S("stage.skipping")
	return call(callTimeout, func(ctx context.Context) tea.Msg { return sFailedMsg{m.stager.Fail(ctx, row, reason)} })
}

// stop ends the run: cancels what runs, forgets the PIN, writes the
// manifest of what is done so far, and quits.
func (m *StagingModel) stop() tea.Cmd {
	if m.cancel != nil {
		m.cancel()
	}
	m.endRow()
	m.quitAsk, m.quitting = false, true
	return m.writeManifest()
}

// typePIN handles the operator's typing of a PIN: two fields, then
// Enter. A PIN staging.Weak finds easy to guess is refused once with the
// reason; Enter again takes it (the operator may know better).
func (m *StagingModel) typePIN(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "tab", "down", "up":
			return m.focusPIN(1 - m.pinField)
		case "enter":
			if m.pinField == 0 {
				return m.focusPIN(1)
			}
			return m.pinTyped()
		}
	}
	f := &m.pin1
	if m.pinField == 1 {
		f = &m.pin2
	}
	before := f.Value()
	var cmd tea.Cmd
	*f, cmd = f.Update(msg)
	if f.Value() != before {
		m.problem, m.weakOK = nil, false
	}
	return cmd
}

func (m *StagingModel) focusPIN(i int) tea.Cmd {
	m.pinField = i
	if i == 0 {
		m.pin2.Blur()
		return m.pin1.Focus()
	}
	m.pin1.Blur()
	return m.pin2.Focus()
}

// errWeak is a typed PIN staging.Weak finds easy to guess.
type errWeak struct{ why string }

func (e errWeak) Error() string { return "weak PIN: " + e.why }

func (m *StagingModel) pinTyped() tea.Cmd {
	p1, p2 := m.pin1.Value(), m.pin2.Value()
	min := max(m.info.MinPINLength, m.stager.Opts.MinPINLength)
	weak := staging.Weak(p1)
	switch err := fido.CheckPIN(p1, min); {
	case err != nil:
		m.problem = err
	case p1 != p2:
		m.problem = flows.ErrPINsDiffer
		m.pin2.Reset()
	case weak != "" && !m.weakOK:
		m.problem, m.weakOK = errWeak{weak}, true
	default:
		m.pin = p1
		m.pin1.Reset()
		m.pin2.Reset()
		m.pin1.Blur()
		m.pin2.Blur()
		return m.startStage(false)
	}
	return nil
}
