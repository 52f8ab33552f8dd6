package tui

import (
	"errors"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/flows"
	"github.com/tapkiosk/tapkiosk/staging"
)

// View renders the staging screen.
func (m *StagingModel) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true
	v.WindowTitle = m.t.S("stage.title")
	return v
}

// Render is the screen as text.
func (m *StagingModel) Render() string {
	return frame(m.st, m.cfg.ASCII, m.width, m.height, m.header, m.body, m.bindings())
}

func (m *StagingModel) header(w int) string {
	b := m.batch
	right := m.t.S("stage.counts", b.RegisteredCount, b.RegisteredCount+b.FailedCount+b.PendingCount, b.FailedCount)
	left := m.t.S("stage.title")
	if m.cfg.Org != "" {
		left += " · " + Clean(m.cfg.Org, 40)
	}
	room := max(w-lipgloss.Width(right)-1, 1)
	left = ansi.Truncate(left, room, "…")
	l := m.st.title.Render(left)
	return l + strings.Repeat(" ", max(w-lipgloss.Width(l)-lipgloss.Width(right), 1)) + m.st.header.Render(right)
}

// explain is what the operator reads for a problem. tapd's own message
// is shown for its refusals: it names the person and the rule, which an
// operator can act on (the walk-up kiosk shows a person's sentence).
func (m *StagingModel) explain(err error) string {
	var ae *api.Error
	var weak errWeak
	switch {
	case err == nil:
		return ""
	case errors.Is(err, staging.ErrNotEmpty):
		return "" // the screen's title says it
	case errors.Is(err, flows.ErrPINsDiffer):
		return m.t.S("pin.differ")
	case errors.As(err, &weak):
		return m.t.S("stage.pinWeak", m.t.S(weakReasons[weak.why]))
	case errors.Is(err, errOtherKey):
		return m.t.S("stage.otherKey")
	case errors.Is(err, staging.ErrNoAuthnrCfg):
		return m.t.S("stage.noAuthnrCfg")
	case errors.Is(err, fido.ErrKeyRemoved):
		return m.t.S("stage.removed")
	case errors.As(err, &ae) && !errors.Is(err, api.ErrUnreachable):
		return m.t.S("err.service", Clean(ae.Message, 200))
	case errors.Is(err, api.ErrUnreachable):
		return explainFor(m.t, err)
	}
	if reason, _ := fido.Explain(err); reason == fido.ReasonOther {
		// Not the key's: a letter folder, a full disk, the PIN draw. Its
		// own words name the file and the cause (never the PIN), which is
		// what an operator needs.
		return m.t.S("stage.error", Clean(err.Error(), 300))
	}
	return explainFor(m.t, err)
}

// weakReasons are the catalogue's words for staging.Weak's reasons.
var weakReasons = map[string]string{
	staging.WeakSame: "stage.weak.same", staging.WeakSequence: "stage.weak.sequence", staging.WeakRepeat: "stage.weak.repeat",
	staging.WeakCommon: "stage.weak.common", staging.WeakYear: "stage.weak.year", staging.WeakDate: "stage.weak.date",
	staging.WeakWalk: "stage.weak.walk", staging.WeakEmpty: "stage.weak.empty",
}

func (m *StagingModel) problemView(w int) string {
	if m.problem == nil {
		return ""
	}
	return problemLine(m.st, m.explain(m.problem), w) // "" for ErrNotEmpty: the title says it
}

// who is the person a screen is about: "Ada Lovelace (3 of 40)" and
// their UPN.
func (m *StagingModel) who(w int) string {
	total := len(m.batch.Rows)
	name := Clean(m.row.DisplayName, 50)
	if name == "" {
		name = Clean(m.row.UserPrincipalName, 60)
	}
	title := m.t.S("stage.person", name, m.pos, total)
	if m.step == sPlug {
		title = m.t.S("stage.plugFor", name, m.pos, total)
	}
	return para(m.st.title, title, w) + "\n" +
		m.st.hint.Render(Clean(m.row.UserPrincipalName, 70)) + "\n"
}

func (m *StagingModel) body(w int) string {
	st, t := m.st, m.t
	if m.quitAsk {
		return st.box.Width(min(w, 64)).Render(st.title.Render(t.S("stage.stopTitle")) + "\n" + para(st.body, t.S("stage.stopBody"), min(w, 64)-4))
	}
	if m.skipAsk {
		name := Clean(m.row.DisplayName, 50)
		if name == "" {
			name = Clean(m.row.UserPrincipalName, 60)
		}
		body := t.S("stage.skipBody", m.skipWhy())
		if m.pinOnKey {
			body = t.S("stage.skipWipeBody", m.skipWhy())
		}
		return st.box.Width(min(w, 64)).Render(st.title.Render(t.S("stage.skipTitle", name)) + "\n" + para(st.body, body, min(w, 64)-4))
	}
	var out string
	switch m.step {
	case sOverview:
		out = m.overview(w)
	case sPlug:
		out = m.who(w) + "\n"
		if m.busy == "" {
			if !errors.Is(m.problem, fido.ErrKeyRemoved) { // the problem says to plug it back
				out += para(st.body, t.S("stage.plug"), w) + "\n"
			}
			out += st.hint.Render(t.S("key.waiting"))
		}
	case sNotEmpty:
		title := t.S("stage.notEmptyTitle")
		var ne *staging.NotEmptyError
		if errors.As(m.problem, &ne) {
			title = t.S("stage.notEmptyPasskeys", ne.Passkeys)
		}
		body := t.S("stage.notEmptyBody")
		if o := m.owner; o != nil {
			name := Clean(o.Row.DisplayName, 50)
			if name == "" {
				name = Clean(o.Row.UserPrincipalName, 60)
			}
			title = t.S("stage.ownedTitle", name, Clean(o.Batch, 40))
			body = t.S("stage.ownedBody", Clean(o.Row.UserPrincipalName, 60))
			if !o.Holds() {
				title = t.S("stage.releasedTitle", name, Clean(o.Batch, 40))
				body = t.S("stage.releasedBody", Clean(o.Row.UserPrincipalName, 60))
			}
		}
		out = m.who(w) + "\n" + para(st.title, title, w) + "\n" + para(st.body, body, w)
	case sResetPlug:
		out = m.who(w) + "\n" + para(st.title, t.S("stage.replugTitle"), w) + "\n" + para(st.body, t.S("stage.replugBody"), w)
	case sResetTouch:
		out = m.who(w) + "\n" + m.touchBox(w, t.S("stage.resetTouch"), t.S("stage.resetTouchBody"))
	case sTypePIN:
		out = m.who(w) + "\n" + para(st.body, t.S("stage.typePIN", max(m.info.MinPINLength, m.stager.Opts.MinPINLength)), w) + "\n\n" +
			t.S("pin.new.first") + "\n" + m.pin1.View() + "\n" + t.S("pin.new.again") + "\n" + m.pin2.View()
	case sWork:
		out = m.who(w) + "\n" + m.progress(w)
	case sStaged:
		out = m.who(w) + "\n" + m.stagedView(w)
	case sFailed:
		if m.row.ID == "" { // between two people: tapd did not answer
			out = para(st.title, t.S("stage.batch", Clean(m.batch.Name, 60)), w)
			break
		}
		out = m.who(w) + "\n" + para(st.title, t.S("stage.failedTitle"), w)
	case sElsewhere:
		out = m.who(w) + "\n" + para(st.title, t.S("stage.elsewhere"), w)
	case sDone:
		out = m.doneView(w)
	}
	return out + busyLine(m.st, m.busy) + m.problemView(w)
}

func (m *StagingModel) overview(w int) string {
	st, t, o, b := m.st, m.t, m.stager.Opts, m.batch
	lines := []string{
		para(st.title, t.S("stage.batch", Clean(b.Name, 60)), w),
		t.S("stage.batchCounts", b.PendingCount, b.RegisteredCount, b.FailedCount),
		"",
	}
	if o.PINs == staging.RandomPINs {
		lines = append(lines, t.S("stage.optRandom", o.PINLength, t.S("stage.alphabet."+o.Alphabet)),
			para(st.body, t.S("stage.optLetters", Clean(o.Letters, 400), o.LetterFormat), w))
	} else {
		lines = append(lines, t.S("stage.optTyped"))
	}
	if o.MinPINLength > 0 {
		lines = append(lines, t.S("stage.optMinLength", o.MinPINLength))
	}
	if o.ForcePINChange {
		lines = append(lines, t.S("stage.optForce"))
	}
	lines = append(lines, "", para(st.body, t.S("stage.overviewGo"), w))
	if b.PendingCount == 0 {
		lines[len(lines)-1] = para(st.body, t.S("stage.nothingPending"), w)
	}
	return strings.Join(lines, "\n")
}

// progress lists the phases of the running key: done ones ticked, the
// current one marked, the touch in a box while the key waits for it.
func (m *StagingModel) progress(w int) string {
	st, t := m.st, m.t
	var lines []string
	for _, p := range staging.Phases {
		if p == staging.PhaseLetter && m.stager.Opts.PINs != staging.RandomPINs {
			continue
		}
		label := t.S("stage.phase." + p.String())
		switch {
		case p < m.phase:
			lines = append(lines, st.ok.Render("✓ "+label))
		case p == m.phase:
			lines = append(lines, st.selected.Render("› "+label))
		default:
			lines = append(lines, st.hint.Render("  "+label))
		}
	}
	out := strings.Join(lines, "\n")
	if m.touching() {
		out += "\n\n" + m.touchBox(w, t.S("stage.touch"), t.S("stage.touchBody"))
	}
	return out
}

func (m *StagingModel) touchBox(w int, title, body string) string {
	return drawTouchBox(m.st, m.t, m.cfg.Now(), m.cfg.Touch, w, title, body)
}

func (m *StagingModel) stagedView(w int) string {
	st, t, r := m.st, m.t, m.result
	model := Clean(r.Method.Model, 40)
	lines := []string{st.ok.Render("✓ " + t.S("stage.staged")), t.S("stage.stagedKey", Clean(r.Method.DisplayName, 64), model)}
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

func (m *StagingModel) doneView(w int) string {
	st, t, b := m.st, m.t, m.batch
	lines := []string{para(st.title, t.S("stage.doneTitle", Clean(b.Name, 60)), w), t.S("stage.batchCounts", b.PendingCount, b.RegisteredCount, b.FailedCount)}
	if b.PendingCount > 0 {
		lines = append(lines, para(st.hint, t.S("stage.busyElsewhere"), w))
	}
	for _, p := range m.manifest {
		lines = append(lines, para(st.body, t.S("stage.manifest", Clean(p, 400)), w)) // wrapped, never cut: it is where to look
	}
	if len(m.manifest) == 0 && m.cfg.Manifest == "" {
		lines = append(lines, para(st.hint, t.S("stage.exportHint", Clean(b.Name, 60)), w))
	}
	if b.FailedCount > 0 {
		lines = append(lines, "", para(st.body, t.S("stage.failedHint"), w))
	}
	return strings.Join(lines, "\n")
}
