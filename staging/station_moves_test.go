package staging_test

// The events of station_test.go's scripts, and the station they start
// from.

import (
	"errors"
	"testing"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/staging"
)

// move is one event and what must follow it.
type move struct {
	name string
	do   func(*staging.Station) staging.Effect
	want staging.Effect
	step staging.Step
}

var (
	keyA   = fido.Key{Path: "virtual:a", Product: "Test key"}
	keyB   = fido.Key{Path: "/dev/hidraw7"}
	errOdd = errors.New("the key answered nonsense")
	errNet = api.ErrUnreachable
	done   = &api.Error{Code: api.CodeStagingRowRegistered, Message: "ada@example.com has a key from this batch already"}
	held   = &api.Error{Code: api.CodeStagingRowBusy, Message: "another station has ada@example.com"}
)

func seen(ks ...fido.Key) move {
	return move{name: "keys seen", do: func(s *staging.Station) staging.Effect { return s.KeysSeen(ks, nil) }}
}
func facts(pinSet bool) move {
	info := fido.Info{PINSet: pinSet, ResidentKeys: true}
	return move{name: "facts", do: func(s *staging.Station) staging.Effect { return s.FactsRead(info, nil) }}
}
func drawn(pin string) move {
	return move{name: "PIN drawn", do: func(s *staging.Station) staging.Effect { return s.PINDrawn(pin, nil) }}
}
func checked(err error) move {
	return move{name: "PIN checked", do: func(s *staging.Station) staging.Effect { return s.PINChecked(err) }}
}
func stagedAs(err error) move {
	res := staging.Result{Method: api.FIDO2Method{ID: "m1"}}
	if err != nil {
		res = staging.Result{}
	}
	return move{name: "staged", do: func(s *staging.Station) staging.Effect { return s.Staged(res, err) }}
}
func phase(p staging.Phase) move {
	return move{name: "phase " + p.String(), do: func(s *staging.Station) staging.Effect { s.PhaseReached(p); return staging.DoNothing }}
}
func resetDone(err error) move {
	return move{name: "reset done", do: func(s *staging.Station) staging.Effect { return s.ResetDone(err) }}
}
func batchRead(b api.StagingBatch, err error) move {
	return move{name: "batch read", do: func(s *staging.Station) staging.Effect { return s.BatchRead(b, err) }}
}
func askSkip() move {
	return move{name: "Ctrl+S", do: func(s *staging.Station) staging.Effect { s.AskSkip(); return staging.DoNothing }}
}
func answerSkip(yes bool, reason string) move {
	return move{name: "skip answered", do: func(s *staging.Station) staging.Effect { return s.AnswerSkip(yes, reason) }}
}
func marked(err error) move {
	return move{name: "marked", do: func(s *staging.Station) staging.Effect { return s.Marked(err) }}
}
func typed(a, b string) move {
	return move{name: "PIN typed", do: func(s *staging.Station) staging.Effect { return s.PINTyped(a, b) }}
}
func owner(path string, o *staging.Owner) move {
	return move{name: "owner found", do: func(s *staging.Station) staging.Effect { s.OwnerFound(path, o, nil); return staging.DoNothing }}
}

var (
	wipe       = move{name: "Ctrl+W", do: (*staging.Station).Wipe}
	cancelWipe = move{name: "Esc", do: (*staging.Station).CancelWipe}
	retry      = move{name: "Enter", do: (*staging.Station).Retry}
	reload     = move{name: "reload", do: (*staging.Station).Reload}
	askStop    = move{name: "Ctrl+C", do: (*staging.Station).AskStop}
	otherKey   = move{name: "Esc", do: func(s *staging.Station) staging.Effect { s.OtherKey(); return staging.DoNothing }}
)

// then sets what must follow a move.
func (m move) then(want staging.Effect, step staging.Step) move {
	m.want, m.step = want, step
	return m
}

func batch() api.StagingBatch {
	return api.StagingBatch{ID: "b1", Name: "north", PendingCount: 2, Rows: []api.StagingRow{
		{ID: "r1", UserPrincipalName: "ada@example.com", DisplayName: "Ada", State: api.StagingPending},
		{ID: "r2", UserPrincipalName: "bob@example.com", DisplayName: "Bob", State: api.StagingPending},
	}}
}

// adaDone is the batch after Ada's row was registered.
func adaDone() api.StagingBatch {
	b := batch()
	b.Rows[0].State = api.StagingRegistered
	return b
}

// station starts a run with PIN mode pins and goes to the first person.
func station(t *testing.T, pins string, manifest bool) *staging.Station {
	t.Helper()
	s := staging.NewStation(batch(), staging.Options{PINs: pins, PINLength: 6, MinPINLength: 6}, manifest)
	if s.Step != staging.StepOverview {
		t.Fatalf("a new station at %v", s.Step)
	}
	if e := s.Begin(); e != staging.DoLookNow || s.Step != staging.StepPlug || s.Row.ID != "r1" || s.Pos != 1 {
		t.Fatalf("Begin: %v at %v, row %q", e, s.Step, s.Row.ID)
	}
	return s
}
