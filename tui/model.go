// Package tui is the kiosk's full-screen terminal app: one root model that
// routes keys and results to the current step of a flows.Journey, and
// renders that step. All I/O (tapd, the key) runs in tea.Cmds through a
// Service and comes back as messages; Update only changes state.
package tui

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/flows"
	"github.com/tapkiosk/tapkiosk/tap"
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
}

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
	if c.AdminChord == "" {
		c.AdminChord = "ctrl+alt+x"
	}
}

// Model is the root model.
type Model struct {
	cfg Config
	svc Service
	t   T
	st  styles

	width, height int
	dark          bool
	j             *flows.Journey

	upn, pass, pin1, pin2, name, admin textinput.Model
	pinField                           int
	revealUntil                        time.Time

	busy       string // what a running Cmd is doing, shown instead of input
	cancel     context.CancelFunc
	reachable  bool
	notice     string
	lastInput  time.Time
	idleAsk    bool
	cursor     int
	marked     map[string]bool
	confirming bool
	keepPass   bool
	doneAt     time.Time
	adminOpen  bool
	adminMsg   string
	pinWarn    string
	lockedTill time.Time // lockout end, for a live countdown
	checking   bool
	quitting   bool
}

// New returns the kiosk model.
func New(cfg Config, svc Service) (*Model, error) {
	cfg.defaults()
	t, err := NewT(cfg.Lang)
	if err != nil {
		return nil, err
	}
	m := &Model{cfg: cfg, svc: svc, t: t, j: flows.New(cfg.Now), width: 80, height: 24, dark: true, marked: map[string]bool{}}
	m.st = newStyles(m.theme(), true)
	mk := func(limit int, secret bool) textinput.Model {
		ti := textinput.New()
		ti.CharLimit = limit
		ti.SetWidth(40)
		ti.Prompt = "› "
		if secret {
			ti.EchoMode = textinput.EchoPassword
			ti.EchoCharacter = '•'
		}
		return ti
	}
	// The pass field takes what a pass can be under any policy (8 to 48
	// characters, tap's range); a kiosk token cannot read the live policy.
	m.upn, m.pass, m.pin1, m.pin2, m.name, m.admin = mk(tap.MaxUPNLength, false), mk(tap.MaxPassLength, true), mk(63, true), mk(63, true), mk(tap.MaxNameLength, false), mk(64, true)
	m.lastInput = cfg.Now()
	return m, nil
}

func (m *Model) theme() string {
	if m.cfg.Theme == "" || m.cfg.Theme == "auto" {
		if m.dark {
			return "dark"
		}
		return "light"
	}
	return m.cfg.Theme
}

// Journey exposes the journey for tests.
func (m *Model) Journey() *flows.Journey { return m.j }

type (
	tickMsg    time.Time
	readyMsg   struct{ err error }
	sessionMsg struct {
		s   api.Session
		err error
	}
	keysMsg struct {
		keys []fido.Key
		err  error
	}
	factsMsg struct {
		info fido.Info
		pin  fido.PINState
		err  error
	}
	pinSetMsg     struct{ err error }
	registeredMsg struct {
		m   api.FIDO2Method
		err error
	}
	checkedMsg struct{ err error }
	methodsMsg struct {
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

func (m *Model) tick() tea.Cmd {
	return tea.Tick(m.cfg.TickEvery, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// Init checks tapd, asks the terminal's background, and starts the clock.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.checkReady(), m.tick(), tea.RequestBackgroundColor)
}

func (m *Model) checkReady() tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return readyMsg{m.svc.Ready(ctx)}
	}
}

func (m *Model) pollKeys(now bool) tea.Cmd {
	look := func() tea.Msg { ks, err := m.svc.Keys(); return keysMsg{ks, err} }
	if now {
		return look
	}
	return tea.Tick(m.cfg.KeyPoll, func(time.Time) tea.Msg { return look() })
}

func ctxFor(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

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
		return m, m.updateInput(msg)
	}
	return m, m.onResult(msg)
}

// onTick runs the clocks: reachability on Welcome, session expiry, idle,
// the pass reveal, and Done's return to Welcome.
func (m *Model) onTick(now time.Time) tea.Cmd {
	if m.j.Step == flows.StepWelcome && now.Second()%5 == 0 {
		return m.checkReady()
	}
	if m.j.SignedIn() && m.j.TimeLeft(now) <= 0 {
		return m.endSession(m.t.S("expired"))
	}
	if m.j.Step == flows.StepDone && !m.doneAt.IsZero() && now.Sub(m.doneAt) >= m.cfg.DoneDelay {
		return m.endSession("")
	}
	if m.j.Step != flows.StepWelcome && m.j.Step != flows.StepDone && m.j.Step != flows.StepTouch && m.busy == "" {
		idle := now.Sub(m.lastInput)
		if idle >= m.cfg.Idle+m.cfg.IdleGrace {
			return m.endSession(m.t.S("idleSignedOut"))
		}
		m.idleAsk = idle >= m.cfg.Idle
	}
	return nil
}

// endSession signs out (if signed in) and wipes everything for the next
// person; notice is shown on Welcome.
func (m *Model) endSession(notice string) tea.Cmd {
	if m.cancel != nil {
		m.cancel()
		m.cancel = nil
	}
	signedIn := m.j.SignedIn()
	m.wipe()
	m.notice = notice
	if !signedIn {
		return tea.ClearScreen
	}
	return tea.Batch(tea.ClearScreen, func() tea.Msg {
		ctx, cancel := ctxFor(10 * time.Second)
		defer cancel()
		m.svc.SignOut(ctx)
		return signedOutMsg{}
	})
}

// wipe clears every trace of the person: journey, inputs, marks.
func (m *Model) wipe() {
	m.j.Reset()
	for _, ti := range []*textinput.Model{&m.upn, &m.pass, &m.pin1, &m.pin2, &m.name, &m.admin} {
		ti.Reset()
		ti.Blur()
	}
	m.busy, m.notice, m.idleAsk, m.confirming, m.keepPass, m.checking = "", "", false, false, false, false
	m.cursor, m.marked, m.doneAt, m.pinWarn, m.pinField = 0, map[string]bool{}, time.Time{}, "", 0
	m.lastInput = m.cfg.Now()
}

func (m *Model) onKey(k tea.KeyPressMsg) tea.Cmd {
	m.lastInput = m.cfg.Now()
	key := k.String()
	if m.idleAsk {
		m.idleAsk = false
		return nil
	}
	if m.adminOpen {
		return m.adminKey(k)
	}
	switch key {
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
		m.quitting = true
		return tea.Quit
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
	if m.busy != "" && m.j.Step != flows.StepTouch && !m.checking {
		return nil // wait for the running call
	}
	return m.stepKey(k)
}

func (m *Model) adminKey(k tea.KeyPressMsg) tea.Cmd {
	switch k.String() {
	case "esc":
		m.adminOpen = false
		m.admin.Reset()
		return nil
	case "enter":
		ok := subtle.ConstantTimeCompare([]byte(m.admin.Value()), []byte(m.cfg.AdminCode)) == 1
		m.admin.Reset()
		if ok {
			m.quitting = true
			signedIn := m.j.SignedIn()
			m.wipe()
			return func() tea.Msg {
				if signedIn {
					ctx, cancel := ctxFor(10 * time.Second)
					defer cancel()
					m.svc.SignOut(ctx)
				}
				return tea.Quit()
			}
		}
		m.adminMsg = m.t.S("admin.wrong")
		return nil
	}
	var cmd tea.Cmd
	m.admin, cmd = m.admin.Update(k)
	return cmd
}

func (m *Model) updateInput(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	switch m.j.Step {
	case flows.StepUPN:
		m.upn, cmd = m.upn.Update(msg)
	case flows.StepPass:
		m.pass, cmd = m.pass.Update(msg)
	case flows.StepNewPIN:
		if m.pinField == 0 {
			m.pin1, cmd = m.pin1.Update(msg)
		} else {
			m.pin2, cmd = m.pin2.Update(msg)
		}
	case flows.StepEnterPIN:
		m.pin1, cmd = m.pin1.Update(msg)
	case flows.StepNameKey:
		m.name, cmd = m.name.Update(msg)
	}
	return cmd
}

// stepKey handles a key on the current step.
func (m *Model) stepKey(k tea.KeyPressMsg) tea.Cmd {
	key := k.String()
	j := m.j
	if key == "esc" {
		return m.back()
	}
	switch j.Step {
	case flows.StepWelcome:
		if key == "enter" {
			m.notice = ""
			j.Start()
			return m.upn.Focus()
		}
	case flows.StepUPN:
		if key == "enter" {
			if j.SubmitUPN(m.upn.Value()) == nil {
				m.upn.Blur()
				return m.pass.Focus()
			}
			return nil
		}
	case flows.StepPass:
		switch key {
		case "ctrl+r":
			m.revealUntil = m.cfg.Now().Add(3 * time.Second)
			return nil
		case "enter":
			pass := strings.TrimSpace(m.pass.Value())
			if !tap.PassLooksRight(pass) {
				j.Problem = errPassShort
				return nil
			}
			m.busy = m.t.S("pass.checking")
			upn := j.UPN // read the model here, not in the Cmd's goroutine
			return func() tea.Msg {
				ctx, cancel := ctxFor(20 * time.Second)
				defer cancel()
				s, err := m.svc.OpenSession(ctx, upn, pass)
				return sessionMsg{s, err}
			}
		}
	case flows.StepNewPIN:
		if key == "tab" || key == "down" || key == "up" {
			m.switchPINField()
			return nil
		}
		if key == "enter" {
			if m.pinField == 0 {
				m.switchPINField()
				return nil
			}
			p1, p2 := m.pin1.Value(), m.pin2.Value()
			if err := j.CheckNewPIN(p1, p2); err != nil {
				j.Problem = err
				m.pin1.Reset()
				m.pin2.Reset()
				m.pinField = 1
				m.switchPINField()
				return nil
			}
			m.busy = m.t.S("pin.setting")
			path := j.Key.Path
			return func() tea.Msg { return pinSetMsg{m.svc.SetPIN(path, p1)} }
		}
	case flows.StepEnterPIN:
		if key == "enter" && m.pin1.Value() != "" {
			j.EnterPIN(m.pin1.Value())
			m.pin1.Reset()
			m.pin1.Blur()
			m.name.SetValue(j.KeyName)
			return m.name.Focus()
		}
	case flows.StepNameKey:
		if key == "enter" {
			if j.NameKey(m.name.Value()) == nil {
				m.name.Blur()
				return m.startTouch()
			}
			return nil
		}
	case flows.StepTouch:
		// After a failure (tapd unreachable, no touch in time) Enter
		// tries again; Esc goes back to naming.
		if key == "enter" && m.busy == "" {
			m.j.Problem = nil
			return m.startTouch()
		}
		return nil
	case flows.StepCheckKey:
		switch key {
		case "enter":
			if m.busy == "" {
				return m.startCheck()
			}
		case "s":
			if m.busy == "" {
				j.SkipCheck()
				return m.loadMethods()
			}
		}
		return nil
	case flows.StepCleanup:
		return m.cleanupKey(key)
	case flows.StepDeletePass:
		switch key {
		case "left", "right", "up", "down", "tab":
			m.keepPass = !m.keepPass
		case "enter":
			keep := m.keepPass
			m.busy = "…"
			return func() tea.Msg {
				if keep {
					return passMsg{keep: true}
				}
				ctx, cancel := ctxFor(20 * time.Second)
				defer cancel()
				return passMsg{false, m.svc.DeletePass(ctx)}
			}
		}
		return nil
	case flows.StepDone:
		if key == "enter" {
			return m.endSession("")
		}
		return nil
	}
	if m.j.Step == flows.StepNewPIN {
		cmd := m.updateInput(k)
		m.pinWarn = ""
		if flows.WeakPIN(m.pin1.Value()) {
			m.pinWarn = m.t.S("pin.weak")
		}
		return cmd
	}
	return m.updateInput(k)
}

func (m *Model) switchPINField() {
	if m.pinField == 0 {
		m.pinField = 1
		m.pin1.Blur()
		m.pin2.Focus()
	} else {
		m.pinField = 0
		m.pin2.Blur()
		m.pin1.Focus()
	}
}

// back handles Esc: cancel the touch, or go one step back.
func (m *Model) back() tea.Cmd {
	j := m.j
	if (j.Step == flows.StepTouch && m.busy != "") || m.checking {
		if m.cancel != nil {
			m.cancel() // the register Cmd returns ErrCancelled
		}
		return nil
	}
	if m.confirming {
		m.confirming = false
		return nil
	}
	if !j.Back() {
		return nil
	}
	switch j.Step {
	case flows.StepWelcome:
		m.upn.Blur()
	case flows.StepUPN:
		m.pass.Reset()
		m.pass.Blur()
		return m.upn.Focus()
	case flows.StepInsertKey:
		m.pin1.Reset()
		m.pin2.Reset()
		return m.pollKeys(true)
	case flows.StepNameKey:
		return m.name.Focus()
	}
	return nil
}

func (m *Model) startTouch() tea.Cmd {
	j := m.j
	ctx, cancel := ctxFor(m.cfg.Touch)
	m.cancel = cancel
	path, pin, name, product := j.Key.Path, j.PINForTouch(), j.KeyName, j.Key.Product
	m.busy = m.t.S("touch.title")
	return func() tea.Msg {
		defer cancel()
		meth, err := m.svc.Register(ctx, path, pin, name, product)
		return registeredMsg{meth, err}
	}
}

func (m *Model) startCheck() tea.Cmd {
	j := m.j
	ctx, cancel := ctxFor(m.cfg.Touch)
	m.cancel, m.checking = cancel, true
	path, pin, id := j.Key.Path, j.PINForTouch(), j.Method.ID
	m.busy = m.t.S("check.touch")
	return func() tea.Msg {
		defer cancel()
		return checkedMsg{m.svc.CheckKey(ctx, path, pin, id)}
	}
}

func (m *Model) loadMethods() tea.Cmd {
	m.busy = "…"
	return func() tea.Msg {
		ctx, cancel := ctxFor(20 * time.Second)
		defer cancel()
		ms, err := m.svc.Methods(ctx)
		return methodsMsg{ms, err}
	}
}

func (m *Model) cleanupKey(key string) tea.Cmd {
	j := m.j
	if m.confirming {
		switch key {
		case "y":
			m.confirming = false
			var cmds []tea.Cmd
			for _, meth := range j.Methods {
				if m.marked[meth.ID] {
					id := meth.ID
					cmds = append(cmds, func() tea.Msg {
						ctx, cancel := ctxFor(20 * time.Second)
						defer cancel()
						return removedMsg{id, m.svc.DeleteMethod(ctx, id)}
					})
				}
			}
			return tea.Batch(cmds...)
		case "n":
			m.confirming = false
		}
		return nil
	}
	switch key {
	case "up":
		if m.cursor > 0 {
			m.cursor--
		}
	case "down":
		if m.cursor < len(j.Methods)-1 {
			m.cursor++
		}
	case "space":
		if m.cursor < len(j.Methods) {
			id := j.Methods[m.cursor].ID
			m.marked[id] = !m.marked[id]
		}
	case "d":
		if m.markedCount() > 0 {
			m.confirming = true
		}
	case "enter":
		j.CleanupDone()
	}
	return nil
}

func (m *Model) markedCount() int {
	n := 0
	for _, meth := range m.j.Methods {
		if m.marked[meth.ID] {
			n++
		}
	}
	return n
}

// onResult applies the result of a Cmd to the journey.
func (m *Model) onResult(msg tea.Msg) tea.Cmd {
	j := m.j
	switch msg := msg.(type) {
	case sessionMsg:
		m.busy = ""
		j.SignInResult(msg.s, msg.err)
		if msg.err != nil {
			var ae *api.Error
			if errors.As(msg.err, &ae) && ae.Code == api.CodeTooManyAttempts {
				m.lockedTill = m.cfg.Now().Add(time.Duration(ae.RetryAfterSeconds) * time.Second)
			}
			m.pass.Reset()
			return nil
		}
		m.pass.Reset()
		m.pass.Blur()
		return m.pollKeys(true)
	case keysMsg:
		if j.Step != flows.StepInsertKey {
			return nil
		}
		if msg.err != nil {
			return m.pollKeys(false)
		}
		if j.KeysSeen(msg.keys) {
			m.busy = m.t.S("key.reading")
			path := j.Key.Path
			return func() tea.Msg { info, pin, err := m.svc.KeyFacts(path); return factsMsg{info, pin, err} }
		}
		return m.pollKeys(false)
	case factsMsg:
		m.busy = ""
		j.KeyFacts(msg.info, msg.pin, msg.err)
		switch j.Step {
		case flows.StepNewPIN:
			m.pinField = 0
			return m.pin1.Focus()
		case flows.StepEnterPIN:
			return m.pin1.Focus()
		case flows.StepInsertKey:
			return m.pollKeys(false)
		}
	case pinSetMsg:
		m.busy = ""
		pin := m.pin1.Value()
		j.PINSet(pin, msg.err)
		m.pin1.Reset()
		m.pin2.Reset()
		m.pin1.Blur()
		m.pin2.Blur()
		if j.Step == flows.StepNameKey {
			m.name.SetValue(j.KeyName)
			return m.name.Focus()
		}
		m.pinField = 1
		m.switchPINField()
	case registeredMsg:
		m.busy, m.cancel = "", nil
		j.Registered(msg.m, msg.err)
		switch j.Step {
		case flows.StepEnterPIN:
			return m.pin1.Focus()
		case flows.StepNameKey:
			return m.name.Focus()
		case flows.StepInsertKey:
			return m.pollKeys(false)
		}
	case checkedMsg:
		m.busy, m.cancel, m.checking = "", nil, false
		if errors.Is(msg.err, fido.ErrCancelled) {
			return nil
		}
		j.KeyChecked(msg.err)
		if j.Step == flows.StepCleanup {
			return m.loadMethods()
		}
	case methodsMsg:
		m.busy = ""
		j.MethodsLoaded(msg.ms, msg.err)
	case removedMsg:
		j.MethodRemoved(msg.id, msg.err)
		delete(m.marked, msg.id)
		if m.cursor >= len(j.Methods) && m.cursor > 0 {
			m.cursor = len(j.Methods) - 1
		}
	case passMsg:
		m.busy = ""
		j.PassResult(msg.keep, msg.err)
		if j.Step == flows.StepDone {
			m.doneAt = m.cfg.Now()
		}
	case signedOutMsg:
	}
	if j.Problem != nil && isSessionEnded(j.Problem) {
		return m.endSession(m.t.S("err.session"))
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

// explain is what the person reads for a problem.
func (m *Model) explain(err error) string {
	var ae *api.Error
	var eu *flows.ErrUPN
	switch {
	case err == nil:
		return ""
	case errors.As(err, &eu):
		return Clean(eu.Error(), 200)
	case errors.Is(err, flows.ErrPINsDiffer):
		return m.t.S("pin.differ")
	case errors.Is(err, errPassShort):
		return m.t.S("pass.short", tap.MinPassLength, tap.MaxPassLength)
	case errors.Is(err, flows.ErrKeyName):
		return m.t.S("name.hint")
	case errors.Is(err, api.ErrUnreachable):
		return m.t.S("err.unreachable")
	case errors.As(err, &ae):
		switch ae.Code {
		case api.CodeInvalidCredentials, api.CodePassExpired, api.CodePassAlreadyUsed, api.CodeNotInPolicy, api.CodePolicyDisabled:
			return m.t.S("err." + string(ae.Code))
		case api.CodePassNotYetValid:
			when := "?"
			if ae.StartDateTime != nil {
				when = ae.StartDateTime.Local().Format("2006-01-02 15:04")
			}
			return m.t.S("err.passNotYetValid", when)
		case api.CodeTooManyAttempts:
			return m.t.S("err.tooManyAttempts", mmss(m.lockedTill.Sub(m.cfg.Now())))
		}
		return m.t.S("err.service", Clean(ae.Message, 200))
	}
	return m.keyMessage(err)
}

// keyMessage says what went wrong with the key, in the kiosk's language:
// fido names the reason, the catalogue holds the words.
func (m *Model) keyMessage(err error) string {
	reason, args := fido.Explain(err)
	return m.t.S("key.err."+reason, args...)
}

// quit reports whether the model asked to exit (for the binary's exit code).
func (m *Model) Quitting() bool { return m.quitting }

func mmss(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}
