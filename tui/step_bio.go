package tui

import (
	"context"
	"errors"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/flows"
)

// fingersStep offers a key with a fingerprint sensor and no finger one or
// two fingers (flows.StepFingers): each touch of the sensor is one sample
// call, and the sensor's word on it is said at once ("lift and touch
// again", "3 more times"). Skippable; Esc stops a sensor that waits.
type fingersStep struct{}

// fingerMsg is one sample's answer.
type fingerMsg struct {
	s   fido.Sample
	err error
}

func (fingersStep) keys(m *Model) []key.Binding {
	if m.touching {
		return m.touchingKeys()
	}
	enrol := "help.finger"
	switch {
	case m.j.Problem != nil:
		enrol = "help.retry"
	case m.j.Fingers.Enrolled > 0:
		enrol = "help.fingerAnother"
	}
	skip := "help.skip"
	if m.j.Fingers.Enrolled > 0 {
		skip = "help.done"
	}
	return m.signedInKeys(m.bind(enrol, "enter", "enter"), m.bind(skip, "s", "s"))
}

func (s fingersStep) update(m *Model, k tea.KeyPressMsg) tea.Cmd {
	ks := s.keys(m)
	switch {
	case m.touching:
		return m.cancelTouch(k)
	case key.Matches(k, ks[0]):
		if m.j.StartFinger() {
			return m.takeSample()
		}
	case key.Matches(k, ks[1]):
		drop := m.dropFinger()
		m.j.SkipFingers()
		return tea.Batch(drop, m.afterPIN())
	case key.Matches(k, m.keySignOut()):
		m.askSignOut()
	}
	return nil
}

func (fingersStep) view(m *Model, w int) string {
	j, st, t := m.j, m.st, m.t
	f := j.Fingers
	out := m.greeting(w)
	if f.Enrolled > 0 && !f.Capturing {
		out += styled(st.ok, hanging("✓ ", t.S("bio.enrolled", f.Enrolled), w)) + "\n\n" + para(st.body, t.S("bio.another"), w)
		return out + m.fingerProblem(w)
	}
	out += para(st.title, t.S("bio.title"), w) + "\n\n"
	if m.touching {
		return out + m.touchBox(w, t.S("bio.touch"), fingerWord(t, f))
	}
	if f.HasSample && f.Started {
		out += para(st.body, fingerWord(t, f), w) + "\n"
	} else {
		out += para(st.body, t.S("bio.body"), w)
	}
	return out + m.fingerProblem(w)
}

// fingerProblem says a timeout in the sensor's words; anything else as
// any key problem.
func (m *Model) fingerProblem(w int) string {
	if errors.Is(m.j.Problem, fido.ErrTouchTimeout) {
		return problemLine(m.st, m.t.S("bio.timeout"), w)
	}
	return m.problemView(w)
}

// fingerWord is what to do next: the sensor's word on the last touch and
// how many more it needs, or the first touch.
func fingerWord(t T, f flows.Fingers) string {
	if !f.HasSample {
		return t.S("bio.first")
	}
	return t.S(feedbackKey(f.Last)) + " " + t.S("bio.remaining", f.Remaining)
}

// feedbackKey is the catalogue key for the sensor's word on a sample.
func feedbackKey(fb fido.Feedback) string {
	switch fb {
	case fido.FeedbackGood:
		return "bio.fb.good"
	case fido.FeedbackTooHigh:
		return "bio.fb.high"
	case fido.FeedbackTooLow:
		return "bio.fb.low"
	case fido.FeedbackTooLeft:
		return "bio.fb.left"
	case fido.FeedbackTooRight:
		return "bio.fb.right"
	case fido.FeedbackTooFast:
		return "bio.fb.fast"
	case fido.FeedbackTooSlow:
		return "bio.fb.slow"
	case fido.FeedbackExists:
		return "bio.fb.exists"
	}
	return "bio.fb.poor" // poor quality, skewed, short, merge failure, no activity
}

// dropFinger tells the key to drop a finger begun and not finished (and
// the kiosk to forget its token), when the person skips it or leaves.
func (m *Model) dropFinger() tea.Cmd {
	if !m.j.FingerOpen() {
		return nil
	}
	return func() tea.Msg { m.svc.CancelFinger(); return nil }
}

// takeSample waits for one touch of the sensor (as long as a touch).
func (m *Model) takeSample() tea.Cmd {
	path, pin, begin := m.j.Key.Path, m.j.FingerPIN(), m.j.FingerBegins()
	return m.startTouch(func(ctx context.Context) tea.Msg {
		s, err := m.svc.FingerSample(ctx, path, pin, begin)
		return fingerMsg{s, err}
	})
}

// fingerSampled applies a sample: the next one at once while the finger
// needs more, else what the step the journey reached needs.
func (m *Model) fingerSampled(msg fingerMsg) tea.Cmd {
	if m.j.FingerSampled(msg.s, msg.err) {
		return m.takeSample()
	}
	if m.j.Step != flows.StepFingers {
		return m.afterPIN()
	}
	return nil
}
