// Package tui is the kiosk's full-screen terminal app: one root model that
// routes keys and results to the current step of a flows.Journey, and
// renders that step. Each step is one file (step_*.go) holding its keys,
// its update and its view; the help bar is built from the step's key
// bindings. All I/O (tapd, the key) runs in tea.Cmds through a Service and
// comes back as messages; Update only changes state.
package tui

import (
	"context"
	"errors"
	"fmt"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/flows"
)

// Config is the kiosk's behaviour.
type Config struct {
	Org       string
	Lang      string
	Theme     string        // auto, dark, light, contrast, plain
	Idle      time.Duration // ask "still there?" after this long without input
	IdleGrace time.Duration // then sign out after this much more
	DoneDelay time.Duration // Done returns to Welcome after this long
	Touch     time.Duration // how long to wait for a touch
	// KioskMode ignores Ctrl+C, Ctrl+Z and Ctrl+\; only AdminChord plus
	// AdminCode exits.
	KioskMode  bool
	AdminChord string
	AdminCode  string
	Now        func() time.Time
	// KeyPoll is how often Insert key looks for keys.
	KeyPoll time.Duration
	// TickEvery paces the clocks (countdowns, idle); one second, shorter
	// in tests.
	TickEvery time.Duration
	// ASCII draws only ASCII symbols, for the Linux text console, whose
	// fonts lack ◐ ✓ › • and the arrows (see ConsoleTerm).
	ASCII bool
	// Timer starts every wait the model has (the clock's tick, the key
	// watch's next look); nil is tea.Tick. Model tests replace it so that
	// their harness knows a wait from a call it must see to its end, and
	// the machine's speed never decides which answers a test saw.
	Timer func(time.Duration, func(time.Time) tea.Msg) tea.Cmd
	// StillCursor draws the fields' cursor without blinking. A blink is a
	// wait inside the text field that Timer cannot reach; model tests
	// turn it off rather than guess which Cmd is one.
	StillCursor bool
}

// ConsoleTerm reports whether TERM names the Linux text console.
func ConsoleTerm(term string) bool { return term == "linux" }

func (c *Config) defaults() {
	if c.Lang == "" {
		c.Lang = "en"
	}
	if c.Idle <= 0 {
		c.Idle = 60 * time.Second
	}
	if c.IdleGrace <= 0 {
		c.IdleGrace = 20 * time.Second
	}
	if c.DoneDelay <= 0 {
		c.DoneDelay = 15 * time.Second
	}
	if c.Touch <= 0 {
		c.Touch = 60 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.TickEvery <= 0 {
		c.TickEvery = time.Second
	}
	if c.KeyPoll <= 0 {
		c.KeyPoll = fido.DefaultPollInterval
	}
	if c.Timer == nil {
		c.Timer = tea.Tick
	}
	if c.AdminChord == "" {
		c.AdminChord = "ctrl+alt+x"
	}
}

// Model is the root model. What belongs to the kiosk (its config, the
// window, tapd's reachability, the admin exit's throttle) lives here; what
// belongs to the person at it lives in the embedded person, replaced whole
// between people.
type Model struct {
	cfg Config
	svc Service
	st  styles

	width, height int
	dark          bool
	reachable     bool
	quitting      bool

	// The admin exit's wrong codes: each one doubles the wait before the
	// next try. Kept across people, so leaving cannot reset it.
	adminFails int
	adminWait  time.Time

	// nextReady is when Welcome next asks tapd whether it answers.
	nextReady time.Time

	// keyGen is the key watch's generation (pollKeys); kept across
	// people so a look started for one is never taken for the next's.
	keyGen int

	*person
}

// New returns the kiosk model.
func New(cfg Config, svc Service) (*Model, error) {
	cfg.defaults()
	if _, err := NewT(cfg.Lang); err != nil {
		return nil, err
	}
	m := &Model{cfg: cfg, svc: svc, width: 80, height: 24, dark: true}
	m.st = newStyles(m.theme(), true)
	m.person = m.newPerson()
	return m, nil
}

func (m *Model) theme() string { return themeName(m.cfg.Theme, m.dark) }

// Journey exposes the journey for tests.
func (m *Model) Journey() *flows.Journey { return m.j }

// Quitting reports whether the model asked to exit (for the binary's exit code).
func (m *Model) Quitting() bool { return m.quitting }

type (
	tickMsg    time.Time
	readyMsg   struct{ err error }
	sessionMsg struct {
		s   api.Session
		err error
	}
	passInfoMsg struct{ ms []api.AuthenticationMethod }
	keysMsg     struct {
		keys []fido.Key
		err  error
		gen  int // pollKeys's generation
	}
	factsMsg struct {
		info fido.Info
		pin  fido.PINState
		err  error
	}
	pinSetMsg     struct{ err error }
	pinCheckedMsg struct{ err error }
	pinChangedMsg struct {
		pin string
		err error
	}
	ownCredsMsg struct {
		cs  []fido.Credential
		err error
	}
	credRemovedMsg struct {
		id  []byte
		err error
	}
	registeredMsg struct {
		m   api.FIDO2Method
		err error
	}
	checkedMsg    struct{ err error }
	candidatesMsg struct {
		ms  []api.AuthenticationMethod
		err error
	}
	knownCheckedMsg struct {
		id  string
		err error
	}
	knownRemovedMsg struct{ err error }
	methodsMsg      struct {
		ms  []api.AuthenticationMethod
		err error
	}
	removedMsg struct {
		id  string
		err error
	}
	passMsg struct {
		keep bool
		err  error
	}
	signedOutMsg struct{}
)

// tick paces the clocks: every TickEvery while anything on screen or in
// the journey moves with time, every restEvery TickEvery at rest (Welcome
// with no notice to take down): there only tapd's reachability is looked
// at, and a kiosk waits there most of its day. A tick the screen does not
// need still costs an Update and a View.
func (m *Model) tick() tea.Cmd {
	return m.cfg.Timer(m.tickEvery(m.cfg.Now()), func(t time.Time) tea.Msg { return tickMsg(t) })
}

// tickEvery is the wait before the next tick at now.
func (m *Model) tickEvery(now time.Time) time.Duration {
	if m.atRest(now) {
		return m.cfg.TickEvery * restEvery
	}
	return m.cfg.TickEvery
}

// restEvery is how many ticks a tick at rest stands for; tapd's
// reachability is looked at as often (readyEvery).
const restEvery = 5

// readyEvery is how often Welcome asks tapd whether it answers.
const readyEvery = 5 * time.Second

// atRest reports Welcome with nothing to take down later: no notice
// showing, no question open.
func (m *Model) atRest(now time.Time) bool {
	return m.j.Step == flows.StepWelcome && !m.idleAsk && !m.adminOpen && (m.notice == "" || !now.Before(m.noticeUntil))
}

// Init checks tapd, asks the terminal's background, and starts the clock.
// The first frame does not wait for the background's answer: a terminal
// that never answers gets the dark theme.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.checkReady(), m.tick(), tea.RequestBackgroundColor)
}

func (m *Model) checkReady() tea.Cmd {
	return call(5*time.Second, func(ctx context.Context) tea.Msg { return readyMsg{m.svc.Ready(ctx)} })
}

// call runs one call to tapd in a Cmd with a deadline.
func call[T tea.Msg](d time.Duration, f func(ctx context.Context) T) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		return f(ctx)
	}
}

const callTimeout = 20 * time.Second

// noticeFor is how long Welcome says why the last session ended: long
// enough for the person leaving, gone before the next one arrives.
const noticeFor = 15 * time.Second

// Update routes one message. It changes state and returns Cmds; it never
// does I/O itself.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return m, nil
	case tea.BackgroundColorMsg:
		m.dark = msg.IsDark()
		m.st = newStyles(m.theme(), m.dark)
		return m, nil
	case tickMsg:
		// The clock is cfg.Now, not the tick's time, so tests can move it.
		return m, tea.Batch(m.tick(), m.onTick(m.cfg.Now()))
	case readyMsg:
		m.reachable = msg.err == nil
		return m, nil
	case tea.KeyPressMsg:
		return m, m.onKey(msg)
	case tea.PasteMsg:
		m.lastInput = m.cfg.Now()
		if m.adminOpen {
			var cmd tea.Cmd
			m.admin, cmd = m.admin.Update(msg)
			return m, cmd
		}
		return m, m.typeInto(msg)
	}
	return m, m.onResult(msg)
}

// onTick runs the clocks: reachability on Welcome, session expiry, idle,
// and Done's return to Welcome.
func (m *Model) onTick(now time.Time) tea.Cmd {
	if m.j.Step == flows.StepWelcome {
		if now.Before(m.nextReady) {
			return nil
		}
		m.nextReady = now.Add(readyEvery)
		return m.checkReady()
	}
	if m.j.SignedIn() && m.j.TimeLeft(now) <= 0 {
		return m.endSession("expired")
	}
	if m.j.Step == flows.StepDone && !m.doneAt.IsZero() && now.Sub(m.doneAt) >= m.cfg.DoneDelay {
		return m.endSession("")
	}
	if m.j.IdleCounts(m.touching) {
		idle := now.Sub(m.lastInput)
		if idle >= m.cfg.Idle+m.cfg.IdleGrace {
			if !m.j.SignedIn() {
				return m.endSession("idleReset") // nobody was signed in: say so
			}
			return m.endSession("idleSignedOut")
		}
		m.idleAsk = idle >= m.cfg.Idle
	}
	return nil
}

// endSession signs out at tapd (if signed in; tapd audits it) and
// replaces the person whole; notice (a catalogue key) is shown on Welcome.
func (m *Model) endSession(notice string) tea.Cmd {
	if m.cancel != nil {
		m.cancel()
	}
	signedIn := m.j.SignedIn()
	drop := m.dropFinger()
	m.person = m.newPerson()
	m.notice, m.noticeUntil = notice, m.cfg.Now().Add(noticeFor)
	if !signedIn {
		return tea.Batch(tea.ClearScreen, drop)
	}
	return tea.Batch(tea.ClearScreen, drop, m.signOut(signedOutMsg{}))
}

// signOut tells tapd, then reports done.
func (m *Model) signOut(done tea.Msg) tea.Cmd { return m.signOutWithin(10*time.Second, done) }

func (m *Model) signOutWithin(d time.Duration, done tea.Msg) tea.Cmd {
	return call(d, func(ctx context.Context) tea.Msg {
		m.svc.SignOut(ctx)
		return done
	})
}

// quitSignOutWait bounds the sign-out on the way out: a tapd out of reach
// must not hold the exit for long (the session then ends at tapd's limit).
const quitSignOutWait = 3 * time.Second

// quit leaves the kiosk (the admin exit; Ctrl+C out of kiosk mode). A
// person signed in is signed out at tapd first, which audits it, and
// nothing of them is held while that runs.
func (m *Model) quit() tea.Cmd {
	m.quitting = true
	signedIn := m.j.SignedIn()
	if m.cancel != nil {
		m.cancel()
	}
	m.person = m.newPerson()
	if !signedIn {
		return tea.Quit
	}
	return m.signOutWithin(quitSignOutWait, tea.QuitMsg{})
}

func (m *Model) onKey(k tea.KeyPressMsg) tea.Cmd {
	if m.quitting {
		return nil // a second Ctrl+C must not cut the sign-out short
	}
	m.lastInput = m.cfg.Now()
	if m.idleAsk {
		m.idleAsk = false
		// Enter and Esc only answer the question: they would act on a
		// screen the person has not looked at again. Any other key also
		// does what it does, so the first letter typed is not lost.
		if k.Code == tea.KeyEnter || k.Code == tea.KeyEscape {
			return nil
		}
	}
	if m.adminOpen {
		return m.adminKey(k)
	}
	switch k.String() {
	case m.cfg.AdminChord:
		if m.cfg.AdminCode != "" {
			m.adminOpen, m.adminMsg = true, ""
			return m.admin.Focus()
		}
		return nil
	case "ctrl+c", "ctrl+z", "ctrl+\\":
		if m.cfg.KioskMode {
			return nil
		}
		return m.quit()
	case "ctrl+l":
		langs := Languages()
		for i, l := range langs {
			if l == m.t.lang {
				m.t, _ = NewT(langs[(i+1)%len(langs)])
				break
			}
		}
		return nil
	}
	if m.signOutAsk {
		return m.signOutKey(k)
	}
	if key.Matches(k, m.keySignOut()) && m.j.CanSignOut() {
		m.signOutAsk = true
		return nil
	}
	if m.busy != "" {
		return nil // wait for the running call
	}
	return screens[m.j.Step].update(m, k)
}

// typeInto hands a key or a paste to the step's focused field.
func (m *Model) typeInto(msg tea.Msg) tea.Cmd {
	var f *textinput.Model
	switch m.j.Step {
	case flows.StepUPN:
		f = &m.upn
	case flows.StepPass:
		f = &m.pass
	case flows.StepNewPIN:
		f = &m.pin1
		if m.pinField == 1 {
			f = &m.pin2
		}
	case flows.StepEnterPIN:
		f = &m.pin1
	case flows.StepChangePIN:
		f = m.changeFields()[m.pinField%3]
	case flows.StepNameKey:
		f = &m.name
	default:
		return nil
	}
	before := f.Value()
	var cmd tea.Cmd
	*f, cmd = f.Update(msg)
	if f.Value() != before && m.j.Step != flows.StepPass {
		// What was said about the last value is stale now. (The pass
		// step keeps tapd's answer: it says what to do next.)
		m.j.Problem = nil
	}
	return cmd
}

// onResult applies the result of a Cmd to the journey.
func (m *Model) onResult(msg tea.Msg) tea.Cmd {
	j := m.j
	var err error
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case sessionMsg:
		err, cmd = msg.err, m.signedIn(msg)
	case passInfoMsg:
		j.PassLoaded(msg.ms)
	case keysMsg:
		cmd = m.keysSeen(msg)
	case factsMsg:
		cmd = m.keyFacts(msg)
	case pinSetMsg:
		cmd = m.pinSet(msg)
	case pinCheckedMsg:
		m.busy = ""
		j.PINChecked(msg.err)
		cmd = m.afterPIN()
	case pinChangedMsg:
		m.busy = ""
		j.PINChanged(msg.pin, msg.err)
		cmd = m.afterPIN()
	case ownCredsMsg:
		m.busy = ""
		j.CredentialsFound(msg.cs, msg.err)
		cmd = m.afterPIN()
	case credRemovedMsg:
		cmd = m.credRemoved(msg)
	case registeredMsg:
		m.touchEnded()
		err, cmd = msg.err, m.registered(msg)
	case fingerMsg:
		m.touchEnded()
		err, cmd = msg.err, m.fingerSampled(msg)
	case checkedMsg:
		m.touchEnded()
		err, cmd = msg.err, m.checked(msg)
	case candidatesMsg:
		m.busy = ""
		err, cmd = msg.err, m.candidates(msg)
	case knownCheckedMsg:
		m.touchEnded()
		err, cmd = msg.err, m.knownChecked(msg)
	case knownRemovedMsg:
		m.busy = ""
		err, cmd = msg.err, m.knownRemoved(msg)
	case methodsMsg:
		m.busy = ""
		err = msg.err
		j.MethodsLoaded(msg.ms, msg.err)
	case removedMsg:
		err = msg.err
		m.removed(msg)
	case passMsg:
		m.busy = ""
		err = msg.err
		j.PassResult(msg.keep, msg.err)
		if j.Step == flows.StepDone {
			m.doneAt = m.cfg.Now()
		}
	case signedOutMsg:
	}
	if isSessionEnded(err) || isSessionEnded(j.Problem) {
		return m.endSession("err.session")
	}
	return cmd
}

// touchEnded: the key's wait is over, so idle counts again, from now.
func (m *Model) touchEnded() {
	m.touching, m.cancel = false, nil
	m.lastInput = m.cfg.Now()
}

// startTouch runs a call that waits for the key's touch, with the touch
// timeout; Esc cancels it.
func (m *Model) startTouch(f func(ctx context.Context) tea.Msg) tea.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.Touch)
	m.cancel, m.touching = cancel, true
	return func() tea.Msg {
		defer cancel()
		return f(ctx)
	}
}

// touchingKeys are a step's keys while the key waits: Esc cancels.
func (m *Model) touchingKeys() []key.Binding { return []key.Binding{m.keyCancel()} }

// cancelTouch handles a key while the key waits: Esc cancels the wait, and
// the call returns fido.ErrCancelled.
func (m *Model) cancelTouch(k tea.KeyPressMsg) tea.Cmd {
	if key.Matches(k, m.keyCancel()) && m.cancel != nil {
		m.cancel()
	}
	return nil
}

var errPassShort = errors.New("pass too short")

// isSessionEnded tells a session that tapd has ended (expired, pass
// deleted elsewhere, kiosk revoked) from other refusals.
func isSessionEnded(err error) bool {
	var ae *api.Error
	return errors.As(err, &ae) && (ae.Code == api.CodeInvalidSession || ae.Code == api.CodeSessionExpired)
}

// mmss says a wait or a time left as m:ss, a part second rounded up: a
// wait of 0.9 s is "0:01", never "0:00" while it still holds.
func mmss(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = (d + time.Second - 1).Truncate(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}
