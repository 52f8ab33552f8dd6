package tui

import (
	"context"
	"errors"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/tap"
)

// passStep takes the Temporary Access Pass, masked, and signs in.
type passStep struct{}

func (passStep) keys(m *Model) []key.Binding {
	return []key.Binding{m.keyNext(), m.bind("help.reveal", "ctrl+r", "ctrl+r"), m.keyBack(), m.keyLang()}
}

func (s passStep) update(m *Model, k tea.KeyPressMsg) tea.Cmd {
	j := m.j
	switch {
	case key.Matches(k, s.keys(m)[1]):
		m.revealUntil = m.cfg.Now().Add(3 * time.Second)
		return nil
	case key.Matches(k, m.keyBack()):
		j.Back()
		m.pass.Reset()
		m.pass.Blur()
		return m.upn.Focus()
	case key.Matches(k, m.keyNext()):
		pass := strings.TrimSpace(m.pass.Value())
		if !tap.PassLooksRight(pass) {
			j.Problem = errPassShort
			m.pass.Reset() // type it again, from the start
			return nil
		}
		m.busy = m.t.S("pass.checking")
		upn := j.UPN // read the model here, not in the Cmd's goroutine
		return call(callTimeout, func(ctx context.Context) tea.Msg {
			s, err := m.svc.OpenSession(ctx, upn, pass)
			return sessionMsg{s, err}
		})
	}
	return m.typeInto(k)
}

// signedIn applies tapd's answer to the pass.
func (m *Model) signedIn(msg sessionMsg) tea.Cmd {
	m.busy = ""
	m.j.SignInResult(msg.s, msg.err)
	m.pass.Reset()
	// The countdown is only what tapd said last: any other answer (an
	// admin's unlock, a new pass, the lock's end) replaces it. The kiosk
	// never holds a try back during it; tapd answers a locked account at
	// once, without a hash, and such a try does not lengthen the lock.
	m.lockedTill = time.Time{}
	if msg.err != nil {
		var ae *api.Error
		if errors.As(msg.err, &ae) && ae.Code == api.CodeTooManyAttempts {
			m.lockedTill = m.cfg.Now().Add(time.Duration(ae.RetryAfterSeconds) * time.Second)
		}
		return nil
	}
	m.pass.Blur()
	// The methods list says whether the pass is one-time and when it
	// ends; the session answer says neither.
	info := call(callTimeout, func(ctx context.Context) tea.Msg {
		ms, _ := m.svc.Methods(ctx)
		return passInfoMsg{ms}
	})
	return tea.Batch(m.pollKeys(true), info)
}

func (passStep) view(m *Model, w int) string {
	j, st, t := m.j, m.st, m.t
	out := st.title.Render(t.S("pass.title")) + "\n" + para(st.hint, t.S("pass.for", Clean(j.UPN, 113)), w) + "\n" +
		para(st.hint, t.S("pass.hint"), w) + "\n" + para(st.hint, t.S("pass.onceHint"), w) + "\n\n"
	if m.cfg.Now().Before(m.revealUntil) {
		out += "› " + Clean(m.pass.Value(), 64)
	} else {
		out += m.pass.View()
	}
	out += m.busyView() + m.problemView(w)
	return out + m.lockWarning(w)
}

// lockWarning says how close the account is to a lock, as far as the
// kiosk can honestly know (flows.TriesBeforeLock).
func (m *Model) lockWarning(w int) string {
	j := m.j
	if m.cfg.Now().Before(m.lockedTill) || (j.WrongPasses == 0 && !j.AfterLock) {
		return ""
	}
	n, exact := j.TriesBeforeLock()
	switch {
	case exact:
		return "\n" + para(m.st.problem, "! "+m.t.S("pass.lockNext"), w)
	case n <= 3:
		return "\n" + para(m.st.problem, "! "+m.t.S("pass.lockSoon", n), w)
	}
	return ""
}
