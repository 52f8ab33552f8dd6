package tui

import (
	"context"
	"time"

	"charm.land/bubbles/v2/textinput"
	"github.com/tapkiosk/tapkiosk/flows"
	"github.com/tapkiosk/tapkiosk/tap"
)

// person is everything the kiosk holds about the one person at it: their
// journey, what they typed, where they are in a list, their language,
// their messages. The model replaces it whole when they leave
// (Model.endSession), so nothing of one person can reach the next by a
// field someone forgot to reset.
type person struct {
	j *flows.Journey
	t T

	upn, pass, pin0, pin1, pin2, name, admin textinput.Model
	pinField                                 int
	revealUntil                              time.Time

	// busy says what a running call to tapd is doing; touching is set
	// while the key waits for a touch (register or check), and cancel
	// stops that wait.
	busy     string
	touching bool
	cancel   context.CancelFunc
	removing int // clean-up removals still running

	// notice is a catalogue key shown on Welcome: why the last person's
	// session ended. It is the previous person's outcome, never their data.
	notice      string
	noticeUntil time.Time
	lastInput   time.Time
	idleAsk     bool
	signOutAsk  bool
	adminOpen   bool
	adminMsg    string // a catalogue key
	lockedTill  time.Time

	cursor     int  // clean-up's row
	confirming bool // clean-up's "remove these?"
	keepPass   bool // delete-pass's choice
	again      bool // known key's choice: register it again
	lookedFull bool // key full: its passkeys were looked at
	doneAt     time.Time
}

// newField is a text field as every step draws one; a secret one shows
// a dot for each character.
func newField(limit int, secret bool) textinput.Model {
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

func (m *Model) newPerson() *person {
	t, _ := NewT(m.cfg.Lang) // checked in New
	mk := newField
	if m.cfg.StillCursor {
		mk = func(limit int, secret bool) textinput.Model {
			f := newField(limit, secret)
			st := f.Styles()
			st.Cursor.Blink = false
			f.SetStyles(st)
			return f
		}
	}
	p := &person{j: flows.New(m.cfg.Now), t: t, lastInput: m.cfg.Now()}
	// The pass field takes what a pass can be under any policy (8 to 48
	// characters, tap's range); a kiosk token cannot read the live policy.
	p.upn, p.pass, p.pin1, p.pin2, p.name, p.admin = mk(tap.MaxUPNLength, false), mk(tap.MaxPassLength, true), mk(63, true),
		mk(63, true), mk(tap.MaxNameLength, false), mk(64, true)
	p.pin0 = mk(63, true) // the old PIN, when the key wants it changed
	return p
}
