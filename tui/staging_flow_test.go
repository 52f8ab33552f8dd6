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
	"github.com/tapkiosk/tapkiosk/flows"
	"github.com/tapkiosk/tapkiosk/staging"
)

// The staging model's steps, driven by the messages its Cmds would send.
// No Cmd is run here (they talk to tapd and the key; the e2e batch runs
// them for real): each case checks where a message leads.

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
	m.step = sPlug
	m.nextRow()
	return m
}

var vkey = fido.Key{Path: "virtual:k", Product: "Test key"}

func send(m *StagingModel, msg tea.Msg) tea.Cmd { _, cmd := m.Update(msg); return cmd }

func TestStagingOutdatedKeyLookIsDropped(t *testing.T) {
	m := stagingAt(t, staging.RandomPINs)
	old := m.pollGen
	m.pollKeys(false) // a newer watch
	send(m, sKeysMsg{gen: old, keys: []fido.Key{vkey}})
	if m.busy != "" || m.key.Path != "" {
		t.Fatal("an outdated look at the keys was acted on")
	}
	send(m, sKeysMsg{gen: m.pollGen, keys: []fido.Key{vkey}})
	if m.key.Path != vkey.Path || m.busy == "" {
		t.Fatal("the current look was not acted on")
	}
}

func TestStagingUnaskedBatchReadOnlyCounts(t *testing.T) {
	m := stagingAt(t, staging.RandomPINs)
	m.step, m.row = sWork, m.batch.Rows[0]
	b := m.batch
	b.RegisteredCount = 1
	send(m, sBatchMsg{b: b})
	if m.step != sWork || m.batch.RegisteredCount != 1 {
		t.Fatalf("Init's batch read moved the run on: step %d", m.step)
	}
	// Between two people, tapd away: the failure says so, and Enter asks again.
	m.reload()
	send(m, sBatchMsg{err: api.ErrUnreachable})
	if m.step != sFailed || m.row.ID != "" {
		t.Fatalf("tapd away between people: step %d row %q", m.step, m.row.ID)
	}
	send(m, tea.KeyPressMsg{Code: tea.KeyEnter})
	if !m.reloading {
		t.Fatal("Enter did not ask tapd again")
	}
	send(m, sBatchMsg{b: m.batch})
	if m.step != sPlug || m.row.ID != "r1" {
		t.Fatalf("after tapd came back: step %d row %q", m.step, m.row.ID)
	}
}

func TestStagingPINCheckOutcomes(t *testing.T) {
	for _, c := range []struct {
		err  error
		want sStep
	}{
		{&fido.PINWrongError{RetriesLeft: 7}, sNotEmpty},
		{fido.ErrPINAuthBlocked, sNotEmpty},
		{fido.ErrKeyRemoved, sPlug},
		{errors.New("the key answered nonsense"), sFailed},
	} {
		m := stagingAt(t, staging.RandomPINs)
		m.key, m.pin, m.busy = vkey, "482913", "checking"
		cmd := send(m, sVerifiedMsg{c.err})
		if m.step != c.want {
			t.Errorf("VerifyPIN %v: step %d, want %d", c.err, m.step, c.want)
		}
		if c.want != sFailed && cmd == nil {
			t.Errorf("VerifyPIN %v: no key watch, so Esc or a pull would go unnoticed", c.err)
		}
	}
}

func TestStagingResetReplugOnAnotherPath(t *testing.T) {
	m := stagingAt(t, staging.RandomPINs)
	m.key, m.step = vkey, sNotEmpty
	send(m, tea.KeyPressMsg{Code: 'w', Mod: tea.ModCtrl})
	if m.step != sResetPlug {
		t.Fatalf("Ctrl+W: step %d", m.step)
	}
	send(m, sKeysMsg{gen: m.pollGen})
	back := fido.Key{Path: "/dev/hidraw7"}
	send(m, sKeysMsg{gen: m.pollGen, keys: []fido.Key{back}})
	if m.step != sResetTouch || m.key.Path != back.Path {
		t.Fatalf("the key back on another path: step %d key %q", m.step, m.key.Path)
	}
	m.cancel()
}

func TestStagingDoneElsewhereWaitsForTheKey(t *testing.T) {
	m := stagingAt(t, staging.RandomPINs)
	m.key, m.pin, m.step = vkey, "482913", sWork
	done := &api.Error{Code: api.CodeStagingRowRegistered, Message: "ada@example.com has a key from this batch already"}
	send(m, sEventMsg{msg: sResultMsg{err: done}})
	if m.step != sElsewhere {
		t.Fatalf("step %d", m.step)
	}
	send(m, sKeysMsg{gen: m.pollGen, keys: []fido.Key{vkey}})
	if m.step != sElsewhere {
		t.Fatal("went on with the key still in")
	}
	send(m, sKeysMsg{gen: m.pollGen})
	if !m.reloading || m.pin != "" {
		t.Fatalf("the key out: reloading %v, PIN kept %v", m.reloading, m.pin != "")
	}
	b := m.batch
	b.Rows[0].State = api.StagingRegistered
	send(m, sBatchMsg{b: b})
	if m.step != sPlug || m.row.ID != "r2" || !errors.Is(m.problem, done) {
		t.Fatalf("next person: step %d row %q problem %v", m.step, m.row.ID, m.problem)
	}
}

func TestStagingStagedForgetsThePIN(t *testing.T) {
	m := stagingAt(t, staging.RandomPINs)
	m.key, m.pin, m.step = vkey, "482913", sWork
	send(m, sEventMsg{msg: sResultMsg{res: staging.Result{Method: api.FIDO2Method{ID: "m1"}}}})
	if m.step != sStaged || m.pin != "" {
		t.Fatalf("staged: step %d, PIN kept %v", m.step, m.pin != "")
	}
}

func TestStagingTypedPIN(t *testing.T) {
	m := stagingAt(t, staging.TypedPINs)
	m.key, m.step = vkey, sTypePIN
	m.focusPIN(0)
	typeText := func(s string) {
		for _, r := range s {
			send(m, tea.KeyPressMsg{Code: r, Text: string(r)})
		}
	}
	enter := func() { send(m, tea.KeyPressMsg{Code: tea.KeyEnter}) }
	typeText("135")
	enter()
	typeText("135")
	enter()
	if m.problem == nil || m.step != sTypePIN {
		t.Fatal("a 3-digit PIN was taken")
	}
	m.pin1.SetValue("123456")
	m.pin2.SetValue("123457")
	enter()
	if !errors.Is(m.problem, flows.ErrPINsDiffer) || m.pin2.Value() != "" {
		t.Fatalf("different PINs: %v", m.problem)
	}
	m.pin2.SetValue("123456")
	enter()
	var weak errWeak
	if !errors.As(m.problem, &weak) || m.step != sTypePIN {
		t.Fatalf("a weak PIN went through at once: %v", m.problem)
	}
	enter() // the operator insists
	if m.step != sWork || m.pin != "123456" || m.pin1.Value() != "" {
		t.Fatalf("the second Enter: step %d", m.step)
	}
	m.cancel()
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
	m.step = sWork
	tick(2 * time.Minute)
	if m.IdleStopped() {
		t.Fatal("stopped in the middle of a key")
	}
	m.step = sPlug
	tick(time.Second)
	if !m.IdleStopped() || !m.Quitting() {
		t.Fatal("a station left alone for over a minute did not stop")
	}
}

// TestStagingOwnedKeyIsNotWiped: a key found staged for someone (by its
// serial) is named, and Ctrl+W does not wipe it.
func TestStagingOwnedKeyIsNotWiped(t *testing.T) {
	m := stagingAt(t, staging.RandomPINs)
	m.key = vkey
	m.notEmpty(nil)
	send(m, sOwnerMsg{path: vkey.Path, owner: &staging.Owner{Row: api.StagingRow{UserPrincipalName: "grace@example.com", DisplayName: "Grace"}, Batch: "new-hires"}})
	for _, b := range m.bindings() {
		if b.Help().Key == "ctrl+w" {
			t.Fatal("the wipe is offered for a key staged for Grace")
		}
	}
	send(m, tea.KeyPressMsg{Code: 'w', Mod: tea.ModCtrl})
	if m.step != sNotEmpty {
		t.Fatalf("Ctrl+W on Grace's key: step %d", m.step)
	}
	// An answer about a key that has gone since is ignored.
	m.owner = nil
	send(m, sOwnerMsg{path: "virtual:other", owner: &staging.Owner{}})
	if m.owner != nil {
		t.Fatal("an answer about another key was taken")
	}
}

// TestStagingReleasedKeyIsWiped: a key whose staged registration was
// removed is named as whose it was, and Ctrl+W wipes it.
func TestStagingReleasedKeyIsWiped(t *testing.T) {
	m := stagingAt(t, staging.RandomPINs)
	m.key = vkey
	m.notEmpty(nil)
	send(m, sOwnerMsg{path: vkey.Path, owner: &staging.Owner{Row: api.StagingRow{UserPrincipalName: "eve@example.com", DisplayName: "Eve", State: api.StagingRemoved}, Batch: "north"}})
	if out := m.Render(); !strings.Contains(out, "This key was Eve's, staged in batch north.") || !strings.Contains(out, "Its registration for eve@example.com has been removed") {
		t.Fatalf("screen:\n%s", out)
	}
	if !slices.ContainsFunc(m.bindings(), func(b key.Binding) bool { return b.Help().Key == "ctrl+w" }) {
		t.Fatal("the wipe is not offered for a key whose registration is gone")
	}
	send(m, tea.KeyPressMsg{Code: 'w', Mod: tea.ModCtrl})
	if m.step != sResetPlug {
		t.Fatalf("Ctrl+W on a released key: step %d", m.step)
	}
}

// TestStagingSkipAsks: Ctrl+S asks before a person is marked not staged.
func TestStagingSkipAsks(t *testing.T) {
	m := stagingAt(t, staging.RandomPINs)
	ctrlS := tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl}
	send(m, ctrlS)
	if !m.skipAsk || m.busy != "" {
		t.Fatal("Ctrl+S did not ask")
	}
	send(m, tea.KeyPressMsg{Code: 'n', Text: "n"})
	if m.skipAsk || m.busy != "" {
		t.Fatal("n did not take the question back")
	}
	send(m, ctrlS)
	if cmd := send(m, tea.KeyPressMsg{Code: 'y', Text: "y"}); cmd == nil || m.busy == "" {
		t.Fatal("y did not skip")
	}
}

// TestStagingSkipWipesKeyWithPIN: a person skipped after their PIN
// reached their key is marked only once the key is wiped, after the
// operator was told so; Esc during the wipe takes the skip back.
func TestStagingSkipWipesKeyWithPIN(t *testing.T) {
	m := stagingAt(t, staging.RandomPINs)
	m.key, m.pin = vkey, "482915"
	send(m, sEventMsg{msg: sPhaseMsg(staging.PhaseMinLength)}) // the PIN phase is over
	m.step, m.problem = sFailed, fido.ErrTouchTimeout
	ctrlS, yes := tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl}, tea.KeyPressMsg{Code: 'y', Text: "y"}
	send(m, ctrlS)
	if out := m.Render(); !strings.Contains(out, "wiped first") {
		t.Fatalf("the question does not say the key is wiped:\n%s", out)
	}
	send(m, yes)
	if m.step != sResetPlug || m.busy != "" || !m.skipWipe {
		t.Fatalf("y with a PIN on the key: step %d, busy %q", m.step, m.busy)
	}
	send(m, tea.KeyPressMsg{Code: tea.KeyEscape})
	if m.skipWipe {
		t.Fatal("Esc did not take the skip back")
	}
	// Again, through to the wipe's end: then the row is marked, with the
	// problem the operator saw as the reason.
	m.step, m.problem = sFailed, fido.ErrTouchTimeout
	send(m, ctrlS)
	send(m, yes)
	if cmd := send(m, sResetMsg{}); cmd == nil || m.busy == "" || m.pinOnKey || m.skipWipe {
		t.Fatalf("the wipe's end did not mark the row: busy %q", m.busy)
	}
	if m.skipReason == "" || m.skipReason == m.t.S("stage.skipped") || m.row.ID == "" {
		t.Fatalf("the row or its reason was forgotten before it was marked: %q", m.skipReason)
	}
}

// TestStagingSkipWithoutPINMarksAtOnce: no PIN on the key, no wipe.
func TestStagingSkipWithoutPINMarksAtOnce(t *testing.T) {
	m := stagingAt(t, staging.RandomPINs)
	m.key = vkey
	send(m, sEventMsg{msg: sPhaseMsg(staging.PhaseLetter)})
	m.step = sFailed
	send(m, tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl})
	if out := m.Render(); strings.Contains(out, "wiped first") {
		t.Fatalf("a wipe is announced for a key without the PIN:\n%s", out)
	}
	if cmd := send(m, tea.KeyPressMsg{Code: 'y', Text: "y"}); cmd == nil || m.busy == "" || m.step == sResetPlug {
		t.Fatalf("step %d busy %q", m.step, m.busy)
	}
}
