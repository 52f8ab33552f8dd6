package staging

// The staging station's rules as a plain state machine, the shape the
// walk-up journey has in flows/: a Station knows the steps, which event
// leads where, and what must be done next (an Effect). It does no I/O and
// knows nothing of Bubble Tea, so every transition is tested without a
// terminal (station_test.go); the kiosk's tui/staging*.go turns each
// Effect into a Cmd and reports its result back as a method call.

import (
	"errors"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
)

// Step is where the operator is with the current person.
type Step int

// The station's steps.
const (
	StepOverview   Step = iota // the batch and its settings
	StepPlug                   // plug in the key for the next person
	StepNotEmpty               // the key has a PIN: wipe it?
	StepResetPlug              // unplug and plug back in, for the wipe
	StepResetTouch             // touch to confirm the wipe
	StepTypePIN                // the operator types the PIN (typed PINs)
	StepWork                   // setting the key up and registering it
	StepStaged                 // done: unplug it
	StepFailed                 // this person's key could not be staged
	StepElsewhere              // this person is done, or being done, elsewhere: unplug
	StepDone                   // no pending person left
)

var stepNames = [...]string{"overview", "plug", "notEmpty", "resetPlug", "resetTouch", "typePIN", "work", "staged",
	"failed", "elsewhere", "done"}

func (s Step) String() string { return stepNames[s] }

// Effect is what the station needs done after an event: the front end
// does it (the key, tapd, a timer) and reports the outcome back through
// the matching method.
type Effect int

// The effects, and the method each one's outcome is reported to.
const (
	DoNothing       Effect = iota
	DoWatchKeys            // look at the keys after the poll interval: KeysSeen
	DoLookNow              // look at the keys at once: KeysSeen
	DoReadFacts            // read Key's facts (GetInfo): FactsRead
	DoCheckPIN             // verify PIN() on Key: PINChecked
	DoFindOwner            // watch the keys, and find whom Key was staged for by its serial: OwnerFound
	DoWipe                 // reset Key (it waits for a touch): ResetDone
	DoDrawPIN              // draw a random PIN: PINDrawn
	DoAskPIN               // the operator types the PIN (empty fields): PINTyped
	DoStage                // run Stage for Row on Key with PIN(): PhaseReached, Staged
	DoStageOnKey           // as DoStage, the PIN already on the key (pinSet)
	DoReload               // read the batch: BatchRead, which goes on to the next person
	DoMarkSkipped          // mark Row failed with SkipReason and delete its letter: Marked
	DoWriteManifest        // write the batch's manifest: ManifestWritten
	DoCancel               // cancel what runs (the wipe's wait for a touch)
	DoQuit                 // the run is over
)

// Busy is what the station waits for while no key press may act.
type Busy int

// The waits.
const (
	NotBusy Busy = iota
	BusyReading
	BusyCheckingPIN
	BusySkipping
	BusyManifest
)

// ErrPINsDiffer: the operator typed two different PINs.
var ErrPINsDiffer = fido.ErrPINsDiffer

// ErrOtherKey asks the operator to unplug the key in the port (they
// chose not to wipe it) and plug in another.
var ErrOtherKey = errors.New("unplug this key and plug in another")

// Station is one run of a staging station over a batch: the person being
// staged, their key, and what the operator has been asked. The person's
// PIN is held only until their key is done.
type Station struct {
	Step    Step
	Problem error
	Busy    Busy

	Batch api.StagingBatch
	Row   api.StagingRow
	Pos   int // Row's place in the batch, from 1
	Key   fido.Key
	Info  fido.Info
	// Owner is whom the key at StepNotEmpty was staged for, if it was:
	// while it holds the key no wipe is offered; once its registration
	// is gone the wipe is, naming whose key it was.
	Owner  *Owner
	Phase  Phase
	Result Result
	// StagedCount counts the keys staged this run.
	StagedCount int
	// Notice is shown on the next person's screen: why the last one was
	// passed over (done elsewhere, held by another station).
	Notice error

	// StopAsked and SkipAsked: the operator is asked whether to stop the
	// run, or to mark this person not staged.
	StopAsked, SkipAsked bool
	// PINOnKey: the person's key holds their PIN (set this run, or found
	// on a key plugged back in). Skipping them then wipes the key first,
	// so that no key is left with a PIN whose letter is gone; SkipWipe is
	// that wipe under way, and SkipReason the reason the row gets.
	PINOnKey   bool
	SkipWipe   bool
	SkipReason string

	Quitting    bool
	Manifest    []string
	ManifestErr error

	typed    bool // the operator types PINs (TypedPINs)
	minPIN   int  // the batch's minimum PIN length
	manifest bool // a manifest is written at the end
	pin      string
	weakOK   bool            // the operator pressed Enter again on a weak PIN
	keyGone  bool            // the key left since the wipe asked for a replug
	skipped  map[string]bool // rows another station holds, this run
	// reloading: a batch read was asked for to go on to the next person;
	// one that answers otherwise (the first) only updates the counts.
	reloading bool
}

// NewStation starts a run over b at the overview. manifest says whether
// a manifest is written when the batch is done or the operator stops.
func NewStation(b api.StagingBatch, o Options, manifest bool) *Station {
	return &Station{Batch: b, typed: o.PINs == TypedPINs, minPIN: o.MinPINLength, manifest: manifest, skipped: map[string]bool{}}
}

// PIN is this person's PIN, drawn or typed once for them, for DoStage
// and DoCheckPIN only; it is never drawn on a screen.
func (s *Station) PIN() string { return s.pin }

// MinPINLength is the shortest PIN the key and the batch allow.
func (s *Station) MinPINLength() int { return max(s.Info.MinPINLength, s.minPIN) }

// Touching reports whether the key waits for a touch now: the wipe's, or
// the registration's.
func (s *Station) Touching() bool {
	return s.Step == StepResetTouch || (s.Step == StepWork && s.Phase == PhaseTouch)
}

// IdleCounts reports whether the idle clock may stop the run now: not
// while a key is being set up or wiped, nor once it is stopping.
func (s *Station) IdleCounts() bool {
	return s.Step != StepWork && s.Step != StepResetTouch && !s.Quitting
}

// Begin leaves the overview for the first pending person.
func (s *Station) Begin() Effect {
	if s.Step != StepOverview {
		return DoNothing
	}
	s.Step = StepPlug
	return s.nextRow()
}

// Reload reads the batch afresh, to go on to the next pending person.
func (s *Station) Reload() Effect {
	s.reloading = true
	return DoReload
}

// BatchRead reports tapd's answer to a batch read. One asked for by
// Reload goes on to the next person; any other only updates the counts.
func (s *Station) BatchRead(b api.StagingBatch, err error) Effect {
	s.Busy = NotBusy
	next := s.reloading
	s.reloading = false
	if err != nil {
		if next {
			// tapd out of reach between two people: say so, and Retry
			// asks again (StepFailed with no row).
			s.Step, s.Problem, s.Row = StepFailed, err, api.StagingRow{}
		}
		return DoNothing
	}
	s.Batch = b
	if !next {
		return DoNothing
	}
	return s.nextRow()
}

// nextRow goes to the batch's next pending person, or to the end.
func (s *Station) nextRow() Effect {
	row, pos, ok := Next(s.Batch, s.skipped)
	if !ok {
		s.Step = StepDone
		return s.writeManifest()
	}
	s.Row, s.Pos, s.Step, s.Problem = row, pos, StepPlug, s.Notice
	s.Notice = nil
	return DoLookNow
}

// endRow forgets everything of the person whose key is done: their PIN
// above all.
func (s *Station) endRow() {
	s.pin, s.weakOK = "", false
	s.Result, s.Problem, s.Row = Result{}, nil, api.StagingRow{}
	s.PINOnKey, s.SkipWipe, s.SkipReason = false, false, ""
}

// Retry is Enter at StepFailed: the same person's key again, or, with
// no person (tapd was away between two), the batch read again.
func (s *Station) Retry() Effect {
	if s.Step != StepFailed {
		return DoNothing
	}
	s.Problem = nil
	if s.Row.ID == "" {
		return s.Reload()
	}
	s.Step = StepPlug
	return DoLookNow
}

// writeManifest writes the manifest if there is one to write, and quits
// after it when stopping.
func (s *Station) writeManifest() Effect {
	if !s.manifest {
		if s.Quitting {
			return DoQuit
		}
		return DoNothing
	}
	s.Busy = BusyManifest
	return DoWriteManifest
}

// ManifestWritten reports the manifest's paths, or why it was not
// written (kept for the exit).
func (s *Station) ManifestWritten(paths []string, err error) Effect {
	s.Busy = NotBusy
	s.Manifest, s.Problem, s.ManifestErr = paths, err, err
	if s.Quitting {
		return DoQuit
	}
	return DoNothing
}

// AskStop is the operator's stop key: at the overview or the end it
// stops at once, elsewhere it asks first.
func (s *Station) AskStop() Effect {
	if s.Step == StepDone || s.Step == StepOverview {
		return s.Stop()
	}
	s.StopAsked = true
	return DoNothing
}

// AnswerStop answers AskStop's question.
func (s *Station) AnswerStop(yes bool) Effect {
	s.StopAsked = false
	if yes {
		return s.Stop()
	}
	return DoNothing
}

// Stop ends the run: forgets the person's PIN and writes the manifest of
// what is done so far. The front end cancels whatever still runs.
func (s *Station) Stop() Effect {
	s.endRow()
	s.StopAsked, s.Quitting = false, true
	return s.writeManifest()
}
