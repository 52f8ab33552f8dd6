package tui

import (
	"context"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/api"
)

// cleanupStep lists the person's other methods to remove what they lost.
// Space marks; Enter with marks asks once, naming them, then removes them
// and shows each result; Enter with none goes on.
type cleanupStep struct{}

func (cleanupStep) keys(m *Model) []key.Binding {
	if m.confirming {
		return []key.Binding{m.keyYes("help.removeYes"), m.keyNo("help.removeNo")}
	}
	n := len(m.j.Marked())
	remove := m.bind("help.removeMarked", "enter", "enter")
	remove.SetHelp("enter", m.t.S("help.removeMarked", n))
	remove.SetEnabled(n > 0)
	next := m.bind("help.done", "enter", "enter")
	next.SetEnabled(n == 0)
	move := m.bind("help.move", "↑/↓", "up", "down", "k", "j")
	mark := m.bind("help.mark", "space", "space")
	if len(m.j.Methods) == 0 {
		move.SetEnabled(false)
		mark.SetEnabled(false)
	}
	return []key.Binding{move, mark, remove, next, m.keyLeave()}
}

func (s cleanupStep) update(m *Model, k tea.KeyPressMsg) tea.Cmd {
	j := m.j
	ks := s.keys(m)
	if m.confirming {
		switch {
		case key.Matches(k, ks[0]):
			m.confirming = false
			var cmds []tea.Cmd
			for _, meth := range j.Marked() {
				id := meth.ID
				m.removing++
				cmds = append(cmds, call(callTimeout, func(ctx context.Context) tea.Msg {
					return removedMsg{id, m.svc.DeleteMethod(ctx, id)}
				}))
			}
			return tea.Batch(cmds...)
		case key.Matches(k, ks[1]):
			m.confirming = false
		}
		return nil
	}
	if m.removing > 0 {
		return nil
	}
	switch {
	case k.String() == "up" || k.String() == "k":
		m.cursor = max(m.cursor-1, 0)
	case k.String() == "down" || k.String() == "j":
		m.cursor = min(m.cursor+1, max(len(j.Methods)-1, 0))
	case key.Matches(k, ks[1]):
		if m.cursor < len(j.Methods) {
			j.Mark(j.Methods[m.cursor].ID)
		}
	case key.Matches(k, ks[2]):
		m.confirming = true
	case key.Matches(k, ks[3]):
		j.CleanupDone()
	case key.Matches(k, ks[4]):
		m.askSignOut()
	}
	return nil
}

func (m *Model) removed(msg removedMsg) {
	m.removing = max(m.removing-1, 0)
	m.j.MethodRemoved(msg.id, msg.err)
	if m.cursor >= len(m.j.Methods) {
		m.cursor = max(len(m.j.Methods)-1, 0)
	}
}

func (cleanupStep) view(m *Model, w int) string {
	j, st, t := m.j, m.st, m.t
	var b strings.Builder
	b.WriteString(st.title.Render(t.S("cleanup.title")) + "\n" + para(st.body, t.S("cleanup.body"), w) + "\n")
	for _, k := range j.Keys {
		b.WriteString(m.keyDoneView(k, w))
	}
	b.WriteString("\n")
	if m.busy != "" {
		return b.String() + m.busyView()
	}
	if m.confirming {
		b.WriteString(st.title.Render(t.S("cleanup.confirm", len(j.Marked()))) + "\n")
		for _, meth := range j.Marked() {
			b.WriteString(strings.Join(hanging("  • ", m.methodLabel(meth), w), "\n") + "\n")
		}
		return b.String() + "\n" + para(st.body, t.S("cleanup.confirmKeys"), w)
	}
	if len(j.Methods) == 0 {
		b.WriteString(st.hint.Render(t.S("cleanup.none")) + "\n")
	}
	// What was removed and what was not, wrapped; under the list.
	var results strings.Builder
	for _, r := range j.Removed {
		results.WriteString(st.ok.Render(strings.Join(hanging("✓ ", t.S("cleanup.removed", m.methodLabel(r)), w), "\n")) + "\n")
	}
	for _, f := range j.Failed {
		results.WriteString(st.problem.Render(strings.Join(hanging("! ", t.S("cleanup.failed", m.methodLabel(f.Method), m.explain(f.Err)), w), "\n")) + "\n")
	}
	// A method's name is the person's own: it wraps under itself, never
	// cut; its facts (model, dates) wrap the same way. A long list
	// scrolls with the cursor, as many methods as the rows hold.
	rows := m.rowsFor() - lineCount(b.String()) - strings.Count(results.String(), "\n") - 1
	blocks := make([]string, len(j.Methods))
	for i, meth := range j.Methods {
		blocks[i] = m.cleanupRow(meth, i == m.cursor, w)
	}
	first, last := window(blocks, m.cursor, rows)
	for _, blk := range blocks[first:last] {
		b.WriteString(blk + "\n")
	}
	b.WriteString(results.String())
	if m.removing > 0 {
		b.WriteString(st.hint.Render("… "+t.S("cleanup.removing")) + "\n")
	}
	return strings.TrimRight(b.String(), "\n") + m.problemView(w)
}

// cleanupRow is one method at clean-up: its mark, kind and name, the
// name wrapping under itself; its facts under the name.
func (m *Model) cleanupRow(meth api.AuthenticationMethod, selected bool, w int) string {
	mark := "[ ]"
	if m.j.IsMarked(meth.ID) {
		mark = "[x]"
	}
	lead := "  "
	if selected {
		lead = "› "
	}
	lines := hanging(lead+mark+" ", m.kind(meth)+"  "+Clean(meth.DisplayName, 200), w)
	if selected {
		for i, l := range lines {
			lines[i] = m.st.selected.Render(l)
		}
	}
	for _, l := range hanging("      ", m.methodFacts(meth), w) {
		lines = append(lines, m.st.hint.Render(l))
	}
	return strings.Join(lines, "\n")
}

// window is the blocks [first, last) to show in rows lines with the
// cursor's block among them: as many before it as fit, then after it.
// The cursor's block is shown even if it alone is taller.
func window(blocks []string, cursor, rows int) (first, last int) {
	if len(blocks) == 0 {
		return 0, 0
	}
	cursor = min(max(cursor, 0), len(blocks)-1)
	used := lineCount(blocks[cursor])
	first, last = cursor, cursor+1
	for first > 0 && used+lineCount(blocks[first-1]) <= rows {
		first--
		used += lineCount(blocks[first])
	}
	for last < len(blocks) && used+lineCount(blocks[last]) <= rows {
		used += lineCount(blocks[last])
		last++
	}
	return first, last
}

// methodLabel names a method so two of the same kind and name can be told
// apart: kind, name, and the day it was added.
func (m *Model) methodLabel(a api.AuthenticationMethod) string {
	label := m.kind(a) + " \"" + Clean(a.DisplayName, 60) + "\""
	if !a.CreatedDateTime.IsZero() { // Entra gives no date for some kinds
		label += " · " + m.t.S("method.added", m.day(a.CreatedDateTime))
	}
	return label
}

// methodFacts is a method's second line: the model, when it was added and
// last used.
func (m *Model) methodFacts(a api.AuthenticationMethod) string {
	var parts []string
	if a.Model != "" {
		parts = append(parts, Clean(a.Model, 40))
	}
	if !a.CreatedDateTime.IsZero() {
		parts = append(parts, m.t.S("method.added", m.day(a.CreatedDateTime)))
	}
	if a.LastUsedDateTime != nil {
		parts = append(parts, m.t.S("method.used", m.day(*a.LastUsedDateTime)))
	}
	return strings.Join(parts, " · ")
}

func (m *Model) kind(a api.AuthenticationMethod) string {
	switch a.Type {
	case api.TypeFIDO2:
		return m.t.S("method.fido2")
	case api.MethodType("phone"):
		return m.t.S("method.phone")
	case api.MethodType("microsoftAuthenticator"):
		return m.t.S("method.authApp")
	}
	return m.t.S("method.other")
}

func lineCount(s string) int { return strings.Count(s, "\n") + 1 }
