package staging_test

import (
	"errors"
	"testing"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/staging"
)

// The station's rules, without a terminal: each case starts at the first
// person's Plug step and plays a script of events, checking after each
// the effect asked for and the step reached.

func TestStationRules(t *testing.T) {
	const P = staging.StepPlug
	for _, c := range []struct {
		name     string
		pins     string
		manifest bool
		moves    []move
		check    func(*testing.T, *staging.Station)
	}{
		{name: "one key: its facts are read", moves: []move{seen(keyA).then(staging.DoReadFacts, P)},
			check: func(t *testing.T, s *staging.Station) {
				if s.Key != keyA || s.Busy != staging.BusyReading {
					t.Errorf("key %v busy %v", s.Key, s.Busy)
				}
			}},
		{name: "several keys, then none", moves: []move{seen(keyA, keyB).then(staging.DoWatchKeys, P), seen().then(staging.DoWatchKeys, P)},
			check: func(t *testing.T, s *staging.Station) {
				if s.Problem != nil || s.Key.Path != "" {
					t.Errorf("problem %v key %v", s.Problem, s.Key)
				}
			}},
		{name: "several keys are said", moves: []move{seen(keyA, keyB).then(staging.DoWatchKeys, P)},
			check: func(t *testing.T, s *staging.Station) {
				if !errors.Is(s.Problem, fido.ErrSeveralKeys) {
					t.Errorf("problem %v", s.Problem)
				}
			}},
		{name: "a key is not taken while its facts are read", moves: []move{seen(keyA).then(staging.DoReadFacts, P), seen(keyB).then(staging.DoWatchKeys, P)},
			check: func(t *testing.T, s *staging.Station) {
				if s.Key != keyA {
					t.Errorf("key %v", s.Key)
				}
			}},
		{name: "a failed look watches on", moves: []move{{name: "look failed", do: func(s *staging.Station) staging.Effect { return s.KeysSeen(nil, errOdd) }, want: staging.DoWatchKeys, step: P}}},
		{name: "facts unread fail the person", moves: []move{seen(keyA).then(staging.DoReadFacts, P),
			{name: "facts", do: func(s *staging.Station) staging.Effect { return s.FactsRead(fido.Info{}, fido.ErrKeyRemoved) }, want: staging.DoNothing, step: staging.StepFailed}}},
		{name: "random PIN: an empty key is staged", pins: staging.RandomPINs,
			moves: []move{seen(keyA).then(staging.DoReadFacts, P), facts(false).then(staging.DoDrawPIN, P), drawn("482913").then(staging.DoStage, staging.StepWork)},
			check: func(t *testing.T, s *staging.Station) {
				if s.PIN() != "482913" || s.Phase != staging.PhaseOptions || s.Busy != staging.NotBusy {
					t.Errorf("PIN kept %v phase %v busy %v", s.PIN() != "", s.Phase, s.Busy)
				}
			}},
		{name: "random PIN not drawn", moves: []move{seen(keyA), facts(false),
			{name: "PIN drawn", do: func(s *staging.Station) staging.Effect { return s.PINDrawn("", errOdd) }, want: staging.DoNothing, step: staging.StepFailed}}},
		{name: "typed PIN: the operator is asked", pins: staging.TypedPINs,
			moves: []move{seen(keyA), facts(false).then(staging.DoAskPIN, staging.StepTypePIN)}},
		{name: "typed PIN: too short, different, weak twice", pins: staging.TypedPINs,
			moves: []move{seen(keyA), facts(false), typed("135", "135").then(staging.DoNothing, staging.StepTypePIN),
				typed("123456", "123457").then(staging.DoNothing, staging.StepTypePIN),
				typed("123456", "123456").then(staging.DoNothing, staging.StepTypePIN),
				typed("123456", "123456").then(staging.DoStage, staging.StepWork)},
			check: func(t *testing.T, s *staging.Station) {
				if s.PIN() != "123456" || s.Problem != nil {
					t.Errorf("PIN %v problem %v", s.PIN() != "", s.Problem)
				}
			}},
		{name: "typed PIN: an edit takes back the insisted weak PIN", pins: staging.TypedPINs,
			moves: []move{seen(keyA), facts(false), typed("123456", "123456").then(staging.DoNothing, staging.StepTypePIN),
				{name: "edited", do: func(s *staging.Station) staging.Effect { s.PINEdited(); return staging.DoNothing }, step: staging.StepTypePIN},
				typed("123456", "123456").then(staging.DoNothing, staging.StepTypePIN)},
			check: func(t *testing.T, s *staging.Station) {
				var weak *staging.WeakPINError
				if !errors.As(s.Problem, &weak) || weak.Why != staging.WeakSequence {
					t.Errorf("problem %v", s.Problem)
				}
			}},
		{name: "a key with a PIN: wipe it?", moves: []move{seen(keyA), facts(true).then(staging.DoFindOwner, staging.StepNotEmpty)}},
		{name: "the person's key back: its PIN is checked", moves: []move{seen(keyA), facts(false), drawn("482913"),
			stagedAs(fido.ErrKeyRemoved).then(staging.DoWatchKeys, P), seen(keyA).then(staging.DoReadFacts, P),
			facts(true).then(staging.DoCheckPIN, P), checked(nil).then(staging.DoStageOnKey, staging.StepWork)},
			check: func(t *testing.T, s *staging.Station) {
				if !s.PINOnKey || s.PIN() != "482913" {
					t.Errorf("PIN on key %v, PIN kept %v", s.PINOnKey, s.PIN() != "")
				}
			}},
		{name: "staged: the key out, the next person", moves: []move{seen(keyA), facts(false), drawn("482913"),
			stagedAs(nil).then(staging.DoWatchKeys, staging.StepStaged), seen(keyA).then(staging.DoWatchKeys, staging.StepStaged),
			seen().then(staging.DoReload, staging.StepStaged), batchRead(adaDone(), nil).then(staging.DoLookNow, P)},
			check: func(t *testing.T, s *staging.Station) {
				if s.Row.ID != "r2" || s.Pos != 2 || s.PIN() != "" || s.StagedCount != 1 || s.Result.Method.ID != "" {
					t.Errorf("row %q pos %d PIN kept %v staged %d", s.Row.ID, s.Pos, s.PIN() != "", s.StagedCount)
				}
			}},
		{name: "staged: the PIN is forgotten at once", moves: []move{seen(keyA), facts(false), drawn("482913"), stagedAs(nil)},
			check: func(t *testing.T, s *staging.Station) {
				if s.PIN() != "" || s.Batch.RegisteredCount != 1 || s.Batch.PendingCount != 1 {
					t.Errorf("PIN kept %v counts %+v", s.PIN() != "", s.Batch)
				}
			}},
		{name: "Stage finds the key not empty", moves: []move{seen(keyA), facts(false), drawn("482913"),
			stagedAs(&staging.NotEmptyError{Passkeys: 2}).then(staging.DoFindOwner, staging.StepNotEmpty)}},
		{name: "done elsewhere: said on the next person's screen once the key is out", moves: []move{seen(keyA), facts(false), drawn("482913"),
			stagedAs(done).then(staging.DoWatchKeys, staging.StepElsewhere), seen(keyA).then(staging.DoWatchKeys, staging.StepElsewhere),
			seen().then(staging.DoReload, staging.StepElsewhere), batchRead(adaDone(), nil).then(staging.DoLookNow, P)},
			check: func(t *testing.T, s *staging.Station) {
				if s.Row.ID != "r2" || !errors.Is(s.Problem, done) || s.PIN() != "" {
					t.Errorf("row %q problem %v", s.Row.ID, s.Problem)
				}
			}},
		{name: "held by another station: passed over this run", moves: []move{seen(keyA), facts(false), drawn("482913"),
			stagedAs(held).then(staging.DoWatchKeys, staging.StepElsewhere), seen().then(staging.DoReload, staging.StepElsewhere),
			batchRead(batch(), nil).then(staging.DoLookNow, P)},
			check: func(t *testing.T, s *staging.Station) {
				if s.Row.ID != "r2" {
					t.Errorf("row %q: the held person came again", s.Row.ID)
				}
			}},
		{name: "a failure, then Enter tries again", moves: []move{seen(keyA), facts(false), drawn("482913"),
			stagedAs(errOdd).then(staging.DoNothing, staging.StepFailed), retry.then(staging.DoLookNow, P)},
			check: func(t *testing.T, s *staging.Station) {
				if s.Row.ID != "r1" || s.Problem != nil || s.PIN() != "482913" {
					t.Errorf("row %q problem %v PIN kept %v", s.Row.ID, s.Problem, s.PIN() != "")
				}
			}},
		{name: "PIN check: wrong", moves: []move{seen(keyA), facts(false), drawn("482913"), stagedAs(fido.ErrKeyRemoved), seen(keyA), facts(true),
			checked(&fido.PINWrongError{RetriesLeft: 7}).then(staging.DoFindOwner, staging.StepNotEmpty)}},
		{name: "PIN check: blocked until replugged", moves: []move{seen(keyA), facts(false), drawn("482913"), stagedAs(fido.ErrKeyRemoved), seen(keyA), facts(true),
			checked(fido.ErrPINAuthBlocked).then(staging.DoFindOwner, staging.StepNotEmpty)}},
		{name: "PIN check: pulled", moves: []move{seen(keyA), facts(false), drawn("482913"), stagedAs(fido.ErrKeyRemoved), seen(keyA), facts(true),
			checked(fido.ErrKeyRemoved).then(staging.DoWatchKeys, P)}},
		{name: "PIN check: nonsense", moves: []move{seen(keyA), facts(false), drawn("482913"), stagedAs(fido.ErrKeyRemoved), seen(keyA), facts(true),
			checked(errOdd).then(staging.DoNothing, staging.StepFailed)}},
		{name: "tapd away between two people, then back", moves: []move{reload.then(staging.DoReload, P),
			batchRead(api.StagingBatch{}, errNet).then(staging.DoNothing, staging.StepFailed), retry.then(staging.DoReload, staging.StepFailed),
			batchRead(batch(), nil).then(staging.DoLookNow, P)},
			check: func(t *testing.T, s *staging.Station) {
				if s.Row.ID != "r1" || s.Problem != nil {
					t.Errorf("row %q problem %v", s.Row.ID, s.Problem)
				}
			}},
		{name: "an unasked batch read only counts", moves: []move{seen(keyA), facts(false), drawn("482913"),
			batchRead(adaDone(), nil).then(staging.DoNothing, staging.StepWork)},
			check: func(t *testing.T, s *staging.Station) {
				if s.Row.ID != "r1" || s.Batch.Rows[0].State != api.StagingRegistered {
					t.Errorf("row %q", s.Row.ID)
				}
			}},
		{name: "an unasked batch read that fails changes nothing", moves: []move{batchRead(api.StagingBatch{}, errNet).then(staging.DoNothing, P)}},
		{name: "the wipe: out, back on another path, touch", moves: []move{seen(keyA), facts(true), wipe.then(staging.DoWatchKeys, staging.StepResetPlug),
			seen(keyA).then(staging.DoWatchKeys, staging.StepResetPlug), seen().then(staging.DoWatchKeys, staging.StepResetPlug),
			seen(keyB).then(staging.DoWipe, staging.StepResetTouch), resetDone(nil).then(staging.DoReadFacts, P)},
			check: func(t *testing.T, s *staging.Station) {
				if s.Key != keyB || s.Busy != staging.BusyReading {
					t.Errorf("key %v busy %v", s.Key, s.Busy)
				}
			}},
		{name: "the wipe: two keys back wait", moves: []move{seen(keyA), facts(true), wipe, seen(), seen(keyA, keyB).then(staging.DoWatchKeys, staging.StepResetPlug)}},
		{name: "the wipe refused after the first seconds: replug again", moves: []move{seen(keyA), facts(true), wipe, seen(), seen(keyA),
			resetDone(fido.ErrResetNotAllowed).then(staging.DoWatchKeys, staging.StepResetPlug), seen(keyA).then(staging.DoWatchKeys, staging.StepResetPlug)}},
		{name: "the wipe not touched: asked again", moves: []move{seen(keyA), facts(true), wipe, seen(), seen(keyA),
			resetDone(fido.ErrTouchTimeout).then(staging.DoFindOwner, staging.StepNotEmpty)},
			check: func(t *testing.T, s *staging.Station) {
				if !errors.Is(s.Problem, fido.ErrTouchTimeout) {
					t.Errorf("problem %v", s.Problem)
				}
			}},
		{name: "Esc while the wipe waits for a touch cancels it", moves: []move{seen(keyA), facts(true), wipe, seen(), seen(keyA),
			cancelWipe.then(staging.DoCancel, staging.StepResetTouch), resetDone(fido.ErrCancelled).then(staging.DoFindOwner, staging.StepNotEmpty)}},
		{name: "Esc while the wipe waits for the replug", moves: []move{seen(keyA), facts(true), wipe,
			cancelWipe.then(staging.DoFindOwner, staging.StepNotEmpty)}},
		{name: "a key not wiped: another one", moves: []move{seen(keyA), facts(true), otherKey.then(staging.DoNothing, staging.StepNotEmpty),
			seen(keyA).then(staging.DoWatchKeys, staging.StepNotEmpty), seen().then(staging.DoWatchKeys, P), seen(keyB).then(staging.DoReadFacts, P)}},
		{name: "a key staged for someone is not wiped", moves: []move{seen(keyA), facts(true),
			owner(keyA.Path, &staging.Owner{Row: api.StagingRow{UserPrincipalName: "grace@example.com", State: api.StagingRegistered}, Batch: "new-hires"}),
			wipe.then(staging.DoNothing, staging.StepNotEmpty)},
			check: func(t *testing.T, s *staging.Station) {
				if s.MayWipe() || s.Owner == nil {
					t.Error("the wipe is allowed for Grace's key")
				}
			}},
		{name: "a key whose staged registration was removed is wiped", moves: []move{seen(keyA), facts(true),
			owner(keyA.Path, &staging.Owner{Row: api.StagingRow{UserPrincipalName: "eve@example.com", State: api.StagingRemoved}, Batch: "north"}),
			wipe.then(staging.DoWatchKeys, staging.StepResetPlug)}},
		{name: "an owner answer about another key is ignored", moves: []move{seen(keyA), facts(true),
			owner("virtual:other", &staging.Owner{Row: api.StagingRow{State: api.StagingRegistered}})},
			check: func(t *testing.T, s *staging.Station) {
				if s.Owner != nil || !s.MayWipe() {
					t.Error("an answer about another key was taken")
				}
			}},
		{name: "skip asked, then not", moves: []move{askSkip().then(staging.DoNothing, P), answerSkip(false, "").then(staging.DoNothing, P)},
			check: func(t *testing.T, s *staging.Station) {
				if s.SkipAsked || s.Busy != staging.NotBusy || s.Row.ID != "r1" {
					t.Error("n did not take the question back")
				}
			}},
		{name: "skip without a PIN on the key: marked at once", moves: []move{seen(keyA), facts(false), drawn("482913"), phase(staging.PhaseLetter),
			stagedAs(errOdd), askSkip(), answerSkip(true, "no touch").then(staging.DoMarkSkipped, staging.StepFailed),
			marked(nil).then(staging.DoReload, staging.StepFailed), batchRead(batch(), nil).then(staging.DoLookNow, P)},
			check: func(t *testing.T, s *staging.Station) {
				if s.PIN() != "" || s.SkipReason != "" {
					t.Errorf("the skipped person's PIN or reason was kept")
				}
			}},
		{name: "skip: marking refused, asked again", moves: []move{askSkip(), answerSkip(true, "skipped").then(staging.DoMarkSkipped, P),
			marked(errNet).then(staging.DoNothing, P), askSkip()},
			check: func(t *testing.T, s *staging.Station) {
				if !s.SkipAsked || s.Busy != staging.NotBusy || !errors.Is(s.Problem, errNet) {
					t.Errorf("asked %v busy %v problem %v", s.SkipAsked, s.Busy, s.Problem)
				}
			}},
		{name: "skip after the PIN: the key is wiped, then the row marked", moves: []move{seen(keyA), facts(false), drawn("482913"),
			phase(staging.PhaseMinLength), stagedAs(fido.ErrTouchTimeout).then(staging.DoNothing, staging.StepFailed), askSkip(),
			answerSkip(true, "no touch").then(staging.DoWatchKeys, staging.StepResetPlug),
			seen().then(staging.DoWatchKeys, staging.StepResetPlug), seen(keyA).then(staging.DoWipe, staging.StepResetTouch),
			resetDone(nil).then(staging.DoMarkSkipped, staging.StepFailed)},
			check: func(t *testing.T, s *staging.Station) {
				if s.SkipReason != "no touch" || s.Row.ID != "r1" || s.PINOnKey || s.SkipWipe || s.Busy != staging.BusySkipping {
					t.Errorf("reason %q row %q PIN on key %v", s.SkipReason, s.Row.ID, s.PINOnKey)
				}
			}},
		{name: "skip after the PIN: Esc takes the skip back", moves: []move{seen(keyA), facts(false), drawn("482913"),
			phase(staging.PhaseTouch), stagedAs(errOdd), askSkip(), answerSkip(true, "x").then(staging.DoWatchKeys, staging.StepResetPlug),
			cancelWipe.then(staging.DoFindOwner, staging.StepNotEmpty)},
			check: func(t *testing.T, s *staging.Station) {
				if s.SkipWipe || !s.PINOnKey {
					t.Errorf("skip wipe %v PIN on key %v", s.SkipWipe, s.PINOnKey)
				}
			}},
		{name: "skip after the PIN: the wipe not touched asks again, nothing marked", moves: []move{seen(keyA), facts(false), drawn("482913"),
			phase(staging.PhaseTouch), stagedAs(errOdd), askSkip(), answerSkip(true, "x"), seen(), seen(keyA),
			resetDone(fido.ErrTouchTimeout).then(staging.DoFindOwner, staging.StepNotEmpty)},
			check: func(t *testing.T, s *staging.Station) {
				if s.Busy == staging.BusySkipping || !s.PINOnKey {
					t.Error("the row was marked without the wipe")
				}
			}},
		{name: "a key back with the person's PIN counts as theirs for the skip", moves: []move{seen(keyA), facts(false), drawn("482913"),
			stagedAs(fido.ErrKeyRemoved), seen(keyA), facts(true), checked(nil), stagedAs(errOdd), askSkip(),
			answerSkip(true, "x").then(staging.DoWatchKeys, staging.StepResetPlug)}},
		{name: "no person, no skip", moves: []move{reload, batchRead(api.StagingBatch{}, errNet), askSkip(),
			answerSkip(true, "x").then(staging.DoNothing, staging.StepFailed)},
			check: func(t *testing.T, s *staging.Station) {
				if s.SkipAsked {
					t.Error("asked to skip nobody")
				}
			}},
		{name: "stop asks mid-batch, and n goes on", moves: []move{askStop.then(staging.DoNothing, P),
			{name: "n", do: func(s *staging.Station) staging.Effect { return s.AnswerStop(false) }, want: staging.DoNothing, step: P}},
			check: func(t *testing.T, s *staging.Station) {
				if s.StopAsked || s.Quitting {
					t.Error("n did not go on")
				}
			}},
		{name: "stop forgets the PIN and writes the manifest", manifest: true, moves: []move{seen(keyA), facts(false), drawn("482913"), askStop,
			{name: "y", do: func(s *staging.Station) staging.Effect { return s.AnswerStop(true) }, want: staging.DoWriteManifest, step: staging.StepWork},
			{name: "written", do: func(s *staging.Station) staging.Effect { return s.ManifestWritten([]string{"/m.csv"}, nil) }, want: staging.DoQuit, step: staging.StepWork}},
			check: func(t *testing.T, s *staging.Station) {
				if s.PIN() != "" || s.Row.ID != "" || !s.Quitting || s.IdleCounts() {
					t.Errorf("PIN kept %v row %q", s.PIN() != "", s.Row.ID)
				}
			}},
		{name: "the key's answers after stop start nothing", manifest: true, moves: []move{seen(keyA).then(staging.DoReadFacts, P), askStop,
			{name: "y", do: func(s *staging.Station) staging.Effect { return s.AnswerStop(true) }, want: staging.DoWriteManifest, step: P},
			{name: "facts late", do: func(s *staging.Station) staging.Effect { return s.FactsRead(fido.Info{}, nil) }, want: staging.DoNothing, step: P},
			{name: "PIN drawn late", do: func(s *staging.Station) staging.Effect { return s.PINDrawn("482913", nil) }, want: staging.DoNothing, step: P},
			{name: "PIN checked late", do: func(s *staging.Station) staging.Effect { return s.PINChecked(nil) }, want: staging.DoNothing, step: P}},
			check: func(t *testing.T, s *staging.Station) {
				if s.Busy != staging.BusyManifest || s.PIN() != "" || s.PINOnKey {
					t.Errorf("after stop: busy %v, PIN kept %v, PIN on key %v", s.Busy, s.PIN() != "", s.PINOnKey)
				}
			}},
		{name: "stop without a manifest quits", moves: []move{{name: "stop", do: (*staging.Station).Stop, want: staging.DoQuit, step: P}}},
		{name: "the batch done: manifest, and the screen stays", manifest: true, moves: []move{seen(keyA), facts(false), drawn("1"), stagedAs(nil), seen(),
			batchRead(func() api.StagingBatch { b := adaDone(); b.Rows[1].State = api.StagingFailed; return b }(), nil).then(staging.DoWriteManifest, staging.StepDone),
			{name: "written", do: func(s *staging.Station) staging.Effect { return s.ManifestWritten(nil, errOdd) }, want: staging.DoNothing, step: staging.StepDone},
			askStop.then(staging.DoWriteManifest, staging.StepDone)},
			check: func(t *testing.T, s *staging.Station) {
				if !errors.Is(s.ManifestErr, errOdd) || !s.Quitting {
					t.Errorf("manifest error %v quitting %v", s.ManifestErr, s.Quitting)
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			pins := c.pins
			if pins == "" {
				pins = staging.RandomPINs
			}
			s := station(t, pins, c.manifest)
			asserted := c.check != nil
			for i, m := range c.moves {
				e := m.do(s)
				if m.step == 0 && m.want == 0 {
					continue // a move on the way: what follows it is another case's
				}
				asserted = true
				if e != m.want || s.Step != m.step {
					t.Fatalf("move %d (%s): %v at %v, want %v at %v (problem %v)", i, m.name, e, s.Step, m.want, m.step, s.Problem)
				}
			}
			if !asserted {
				t.Fatal("the case asserts nothing: no move has then and there is no check")
			}
			if c.check != nil {
				c.check(t, s)
			}
		})
	}
}

// TestStationTypedPINProblems: what each refused typed PIN says.
func TestStationTypedPINProblems(t *testing.T) {
	s := station(t, staging.TypedPINs, false)
	s.KeysSeen([]fido.Key{keyA}, nil)
	s.FactsRead(fido.Info{MinPINLength: 8}, nil)
	if s.MinPINLength() != 8 {
		t.Fatalf("min PIN length %d: the key's 8 is longer than the batch's 6", s.MinPINLength())
	}
	for _, c := range []struct {
		a, b string
		is   func(error) bool
	}{
		{"1357", "1357", func(err error) bool {
			var p *fido.PINPolicyError
			return errors.As(err, &p) && p.Rule == fido.RuleTooShort && p.MinLen == 8
		}},
		{"19283746", "19283745", func(err error) bool { return errors.Is(err, staging.ErrPINsDiffer) }},
		{"12345678", "12345678", func(err error) bool { var w *staging.WeakPINError; return errors.As(err, &w) }},
	} {
		if e := s.PINTyped(c.a, c.b); e != staging.DoNothing || !c.is(s.Problem) {
			t.Errorf("%d digits: %v, problem %v", len(c.a), e, s.Problem)
		}
		s.PINEdited()
	}
}

// TestStationIdleAndTouch: the idle clock stops a run but not while a
// key is being set up or wiped; the touch is waited for at the wipe and
// at the registration's touch phase only.
func TestStationIdleAndTouch(t *testing.T) {
	s := station(t, staging.RandomPINs, false)
	if !s.IdleCounts() || s.Touching() {
		t.Fatal("at Plug")
	}
	s.KeysSeen([]fido.Key{keyA}, nil)
	s.FactsRead(fido.Info{}, nil)
	s.PINDrawn("482913", nil)
	if s.IdleCounts() || s.Touching() {
		t.Fatal("at Work, before the touch")
	}
	s.PhaseReached(staging.PhaseTouch)
	if !s.Touching() {
		t.Fatal("the touch phase is not a touch")
	}
	s.Staged(staging.Result{}, fido.ErrTouchTimeout)
	s.AskSkip()
	s.AnswerSkip(true, "x")
	s.KeysSeen(nil, nil)
	s.KeysSeen([]fido.Key{keyA}, nil)
	if s.IdleCounts() || !s.Touching() {
		t.Fatal("at the wipe's touch")
	}
}
