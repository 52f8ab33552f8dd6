package tui

import (
	"errors"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/staging"
)

// stageStagedStep: the person's key is done; the key watch goes on to the
// next person once it is unplugged.
type stageStagedStep struct{}

func (stageStagedStep) keys(*StagingModel) []key.Binding { return nil }

func (stageStagedStep) update(*StagingModel, tea.KeyPressMsg) tea.Cmd { return nil }

func (stageStagedStep) view(m *StagingModel, w int) string { return m.who(w) + "\n" + m.stagedView(w) }

func (m *StagingModel) stagedView(w int) string {
	st, t, r := m.st, m.t, m.s.Result
	model := Clean(r.Method.Model, 40)
	lines := []string{st.ok.Render("✓ " + t.S("stage.staged")), para(st.body, t.S("stage.stagedKey", Clean(r.Method.DisplayName, nameMax), model), w)}
	if r.Serial != "" {
		lines = append(lines, t.S("stage.serial", r.Serial))
	}
	if r.Letter != "" {
		lines = append(lines, para(st.body, t.S("stage.letter", Clean(r.Letter, 400)), w))
	}
	if r.ChangeForced {
		lines = append(lines, t.S("stage.forced"))
	}
	for _, wn := range r.Warnings {
		lines = append(lines, para(st.problem, "! "+m.warning(wn), w))
	}
	unplug := "stage.unplug"
	if m.stager.Opts.PINs == staging.TypedPINs {
		unplug = "stage.unplugTyped"
	}
	if m.stager.Opts.LiveAtOnce {
		lines = append(lines, "", para(st.problem, t.S("stage.liveAtOnce"), w))
	}
	lines = append(lines, "", para(st.body, t.S(unplug), w))
	return strings.Join(lines, "\n")
}

// warning words one of Stage's warnings.
func (m *StagingModel) warning(err error) string {
	if errors.Is(err, staging.ErrNoAuthnrCfg) {
		return m.t.S("stage.noAuthnrCfg")
	}
	if inner := errors.Unwrap(err); inner != nil {
		err = inner // the cause, in the catalogue's words where it has them
	}
	return m.t.S("stage.warning", m.explain(err))
}
