package tui

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/staging"
)

// The staging screen's own part: its keys, what it draws, the key watch's
// generations, the PIN fields and the idle clock. The station's rules
// (which step follows which event) are tested in staging/station_test.go;
// here the model is driven by the messages its Cmds would send, and no
// Cmd is run (they talk to tapd and the key; the e2e batch runs them).

func stagingAt(t *testing.T, pins string) *StagingModel {
	t.Helper()
	b := api.StagingBatch{ID: "b1", Name: "north", PendingCount: 2, Rows: []api.StagingRow{
		{ID: "r1", UserPrincipalName: "ada@example.com", DisplayName: "Ada", State: api.StagingPending},
		{ID: "r2", UserPrincipalName: "bob@example.com", DisplayName: "Bob", State: api.StagingPending},
	}}
	opts := staging.Options{PINs: pins, PINLength: 6, Alphabet: staging.Digits, MinPINLength: 6, ForcePINChange: true, Letters: t.TempDir(), LetterFormat: staging.Text}
	m, err := NewStaging(StagingConfig{Theme: "plain"}, &staging.Stager{Opts: opts}, b)
	if err != nil {
		t.Fatal(err)
	}
	send(m, tea.KeyPressMsg{Code: tea.KeyEnter}) // the overview's Enter
	if m.s.Step != staging.StepPlug {
		t.Fatalf("Enter at the overview: %v", m.s.Step)
	}
	return m
}

var vkey = fido.Key{Path: "virtual:k", Product: "Test key"}

func send(m *StagingModel, msg tea.Msg) tea.Cmd { _, cmd := m.Update(msg); return cmd }

// plugged plugs vkey in and reports its facts.
func plugged(m *StagingModel, pinSet bool) {
	send(m, sKeysMsg{gen: m.pollGen, keys: []fido.Key{vkey}})
	send(m, sFactsMsg{info: fido.Info{PINSet: pinSet, ResidentKeys: true}})
}

// staged runs the person's Stage up to phase p, and ends it with err.
func stagedTo(m *StagingModel, p staging.Phase, err error) {
	plugged(m, false)
	send(m, sPINMsg{pin: "482915"})
	send(m, sEventMsg{msg: sPhaseMsg(p)})
	send(m, sEventMsg{msg: sResultMsg{err: err}})
}

var (
	ctrlS = tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl}
	ctrlW = tea.KeyPressMsg{Code: 'w', Mod: tea.ModCtrl}
	yes   = tea.KeyPressMsg{Code: 'y', Text: "y"}
	no    = tea.KeyPressMsg{Code: 'n', Text: "n"}
	esc   = tea.KeyPressMsg{Code: tea.KeyEscape}
	enter = tea.KeyPressMsg{Code: tea.KeyEnter}
)

func offers(m *StagingModel, k string) bool {
	return slices.ContainsFunc(m.bindings(), func(b key.Binding) bool { return b.Help().Key == k })
}

func TestStagingOutdatedKeyLookIsDropped(t *testing.T) {
	m := stagingAt(t, staging.RandomPINs)
	old := m.pollGen
	m.pollKeys(false) // a newer watch
	send(m, sKeysMsg{gen: old, keys: []fido.Key{vkey}})
	if m.busyText() != "" || m.s.Key.Path != "" {
		t.Fatal("an outdated look at the keys was acted on")
	}
	if cmd := send(m, sKeysMsg{gen: m.pollGen, keys: []fido.Key{vkey}}); cmd == nil || m.s.Key.Path != vkey.Path || m.busyText() == "" {
		t.Fatal("the current look was not acted on")
	}
}

// TestStagingEffectsBecomeCmds: every effect that asks for work gets a
// Cmd (none is dropped on the way from the station to the screen).
func TestStagingEffectsBecomeCmds(t *testing.T) {
	for e := staging.DoWatchKeys; e <= staging.DoQuit; e++ {
		if e == staging.DoCancel {
			continue // cancels what runs; the running Cmd answers
		}
		m := stagingAt(t, staging.RandomPINs)
		m.s.Key = vkey
		cmd := m.do(e)
		if cmd == nil {
			t.Errorf("effect %d: no Cmd", e)
		}
		if m.cancel != nil {
			m.cancel()
		}
	}
}

func TestStagingTypedPIN(t *testing.T) {
	m := stagingAt(t, staging.TypedPINs)
	plugged(m, false)
	if m.s.Step != staging.StepTypePIN || !m.pin1.Focused() {
		t.Fatalf("step %v, first field focused %v", m.s.Step, m.pin1.Focused())
	}
	typeText := func(s string) {
		for _, r := range s {
			send(m, tea.KeyPressMsg{Code: r, Text: string(r)})
		}
	}
	typeText("135")
	send(m, enter)
	typeText("135")
	send(m, enter)
	if m.s.Problem == nil || m.s.Step != staging.StepTypePIN {
		t.Fatal("a 3-digit PIN was taken")
	}
	m.pin1.SetValue("123456")
	m.pin2.SetValue("123457")
	send(m, enter)
	if !errors.Is(m.s.Problem, staging.ErrPINsDiffer) || m.pin2.Value() != "" || m.pin1.Value() == "" {
		t.Fatalf("different PINs: %v, second field %q", m.s.Problem, m.pin2.Value())
	}
	typeText("123456")
	send(m, enter)
	var weak *staging.WeakPINError
	if !errors.As(m.s.Problem, &weak) || !strings.Contains(m.Render(), m.t.S("stage.weak.sequence")) {
		t.Fatalf("a weak PIN went through at once, or its reason is not shown: %v\n%s", m.s.Problem, m.Render())
	}
	send(m, enter) // the operator insists
	if m.s.Step != staging.StepWork || m.s.PIN() != "123456" || m.pin1.Value() != "" || m.pin2.Value() != "" {
		t.Fatalf("the second Enter: step %v", m.s.Step)
	}
	m.cancel()
}

// TestStagingPINFieldsEmptiedForNextPerson: a half-typed PIN does not
// stay in the fields once the person is skipped.
func TestStagingPINFieldsEmptiedForNextPerson(t *testing.T) {
	m := stagingAt(t, staging.TypedPINs)
	plugged(m, false)
	m.pin1.SetValue("918273")
	send(m, ctrlS)
	send(m, yes)
	send(m, sFailedMsg{})
	if m.pin1.Value() != "" || m.pin2.Value() != "" || m.s.Row.ID != "" {
		t.Fatalf("the skipped person's typed PIN is kept: %q", m.pin1.Value())
	}
}

// TestStagingIdleStops: a station left alone stops (the batch goes on next
// time), but not while a key is being set up, and a key plugged or
// pulled counts as someone there.
func TestStagingIdleStops(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	m := stagingAt(t, staging.RandomPINs)
	m.cfg.Now = func() time.Time { return now }
	m.cfg.Idle, m.cfg.Manifest = time.Minute, ""
	m.lastActivity = now
	tick := func(d time.Duration) { now = now.Add(d); send(m, sTickMsg(now)) }
	tick(50 * time.Second)
	send(m, sKeysMsg{gen: m.pollGen, keys: []fido.Key{vkey}}) // someone plugged a key in
	tick(50 * time.Second)
	if m.IdleStopped() {
		t.Fatal("stopped although a key was plugged in 50 s ago")
	}
	send(m, sFactsMsg{info: fido.Info{ResidentKeys: true}})
	send(m, sPINMsg{pin: "482915"})
	tick(2 * time.Minute)
	if m.IdleStopped() || m.s.Step != staging.StepWork {
		t.Fatalf("stopped in the middle of a key (%v)", m.s.Step)
	}
	send(m, sEventMsg{msg: sResultMsg{err: fido.ErrKeyRemoved}})
	tick(time.Second)
	if !m.IdleStopped() || !m.Quitting() {
		t.Fatal("a station left alone for over a minute did not stop")
	}
}

// TestStagingOwnedKeyIsNotWiped: a key found staged for someone (by its
// serial) is named, and Ctrl+W is neither offered nor acts.
func TestStagingOwnedKeyIsNotWiped(t *testing.T) {
	m := stagingAt(t, staging.RandomPINs)
	plugged(m, true)
	if !offers(m, "ctrl+w") {
		t.Fatal("the wipe is not offered for a key nobody was staged with")
	}
	send(m, sOwnerMsg{path: vkey.Path, owner: &staging.Owner{Row: api.StagingRow{UserPrincipalName: "grace@example.com", DisplayName: "Grace"}, Batch: "new-hires"}})
	if offers(m, "ctrl+w") {
		t.Fatal("the wipe is offered for a key staged for Grace")
	}
	if out := m.Render(); !strings.Contains(out, "Grace") || !strings.Contains(out, "new-hires") {
		t.Fatalf("the key's owner is not named:\n%s", out)
	}
	send(m, ctrlW)
	if m.s.Step != staging.StepNotEmpty {
		t.Fatalf("Ctrl+W on Grace's key: step %v", m.s.Step)
	}
}

// TestStagingReleasedKeyIsWiped: a key whose staged registration was
// removed is named as whose it was, and Ctrl+W wipes it.
func TestStagingReleasedKeyIsWiped(t *testing.T) {
	m := stagingAt(t, staging.RandomPINs)
	plugged(m, true)
	send(m, sOwnerMsg{path: vkey.Path, owner: &staging.Owner{Row: api.StagingRow{UserPrincipalName: "eve@example.com", DisplayName: "Eve", State: api.StagingRemoved}, Batch: "north"}})
	if out := m.Render(); !strings.Contains(out, "This key was Eve's, staged in batch north.") || !strings.Contains(out, "Its registration for eve@example.com has been removed") {
		t.Fatalf("screen:\n%s", out)
	}
	if !offers(m, "ctrl+w") {
		t.Fatal("the wipe is not offered for a key whose registration is gone")
	}
	send(m, ctrlW)
	if m.s.Step != staging.StepResetPlug || !offers(m, "esc") {
		t.Fatalf("Ctrl+W on a released key: step %v", m.s.Step)
	}
}

// TestStagingSkipAsks: Ctrl+S asks before a person is marked not staged;
// n takes it back, y marks them.
func TestStagingSkipAsks(t *testing.T) {
	m := stagingAt(t, staging.RandomPINs)
	send(m, ctrlS)
	if !m.s.SkipAsked || !offers(m, "y") || !strings.Contains(m.Render(), "Ada") {
		t.Fatalf("Ctrl+S did not ask:\n%s", m.Render())
	}
	send(m, no)
	if m.s.SkipAsked || m.busyText() != "" {
		t.Fatal("n did not take the question back")
	}
	send(m, ctrlS)
	if cmd := send(m, yes); cmd == nil || m.busyText() == "" {
		t.Fatal("y did not skip")
	}
}

// TestStagingSkipWipesKeyWithPIN: the question says the key is wiped
// first when the person's PIN reached it, and the row gets the problem
// the operator saw as its reason.
func TestStagingSkipWipesKeyWithPIN(t *testing.T) {
	m := stagingAt(t, staging.RandomPINs)
	stagedTo(m, staging.PhaseMinLength, fido.ErrTouchTimeout)
	send(m, ctrlS)
	if out := m.Render(); !strings.Contains(out, "wiped first") {
		t.Fatalf("the question does not say the key is wiped:\n%s", out)
	}
	want := m.explain(fido.ErrTouchTimeout)
	send(m, yes)
	if m.s.Step != staging.StepResetPlug || m.busyText() != "" {
		t.Fatalf("y with a PIN on the key: step %v, busy %q", m.s.Step, m.busyText())
	}
	send(m, sKeysMsg{gen: m.pollGen})
	send(m, sKeysMsg{gen: m.pollGen, keys: []fido.Key{vkey}})
	if cmd := send(m, sResetMsg{}); cmd == nil || m.busyText() == "" || m.s.SkipReason != want {
		t.Fatalf("the wipe's end did not mark the row with %q: busy %q, reason %q", want, m.busyText(), m.s.SkipReason)
	}
}

// TestStagingSkipWithoutPINMarksAtOnce: no PIN on the key, no wipe.
func TestStagingSkipWithoutPINMarksAtOnce(t *testing.T) {
	m := stagingAt(t, staging.RandomPINs)
	stagedTo(m, staging.PhaseLetter, fido.ErrTouchTimeout)
	send(m, ctrlS)
	if out := m.Render(); strings.Contains(out, "wiped first") {
		t.Fatalf("a wipe is announced for a key without the PIN:\n%s", out)
	}
	if cmd := send(m, yes); cmd == nil || m.busyText() == "" || m.s.Step == staging.StepResetPlug {
		t.Fatalf("step %v busy %q", m.s.Step, m.busyText())
	}
}

// TestStagingStopAsks: Ctrl+C asks mid-batch; y stops and forgets the
// PIN.
func TestStagingStopAsks(t *testing.T) {
	m := stagingAt(t, staging.RandomPINs)
	plugged(m, false)
	send(m, sPINMsg{pin: "482915"})
	send(m, tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
	if !m.s.StopAsked || !strings.Contains(m.Render(), m.t.S("stage.stopTitle")) {
		t.Fatalf("Ctrl+C did not ask:\n%s", m.Render())
	}
	send(m, esc)
	if m.s.StopAsked || m.Quitting() {
		t.Fatal("Esc did not take the question back")
	}
	send(m, tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
	if cmd := send(m, yes); cmd == nil || !m.Quitting() || m.s.PIN() != "" {
		t.Fatal("y did not stop")
	}
}
