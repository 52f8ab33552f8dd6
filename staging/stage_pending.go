package staging

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
)

// The pending folders: a person's letter waits in its station's folder
// until tapd has their key, then joins the others (settle). Reconcile
// settles or removes what stopped kiosks left there.

// pendingDir holds this kiosk's letters of keys being staged, in a folder
// of its own under the letters' ".pending" (two stations may work on one
// batch): a letter moves out, beside the others, only once tapd has the
// person's key.
func (s *Stager) pendingDir() string {
	s.once.Do(func() {
		b := make([]byte, 6)
		rand.Read(b)
		s.station = hex.EncodeToString(b)
	})
	return filepath.Join(s.Opts.Letters, ".pending", s.station)
}

// settle moves a person's pending letter from dir beside the others.
func (s *Stager) settle(dir, upn string) (string, error) {
	for _, ext := range extensions {
		from := filepath.Join(dir, safeName(upn)+ext)
		to := filepath.Join(s.Opts.Letters, safeName(upn)+ext)
		if err := os.Rename(from, to); err == nil {
			return to, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	return "", errNoPending
}

var errNoPending = errors.New("no pending letter")

// dropPending removes a person's letters from every pending folder.
func (s *Stager) dropPending(upn string) error {
	dirs, _ := filepath.Glob(filepath.Join(s.Opts.Letters, ".pending", "*"))
	var errs []error
	for _, d := range dirs {
		errs = append(errs, RemoveLetter(d, upn))
	}
	return errors.Join(errs...)
}

// StaleAfter is when a pending letter of an unregistered person is
// surely not a running kiosk's: longer than tapd holds a row for one
// registration (its lease: the challenge's five minutes, or ten while a
// write is in flight).
const StaleAfter = 15 * time.Minute

// Reconcile settles the pending letters stopped kiosks left behind. A
// person whose row is registered has that key (a kiosk stopped between
// tapd's record and the move), so their letter joins the others, if it is
// the only one pending for them (two would mean two stations raced, and
// an operator must look: it is left, and named in the error). Other
// pending letters belong to keys that must be wiped before they are
// staged, and go once they are stale (a younger one may be a running
// station's).
func (s *Stager) Reconcile(b api.StagingBatch) error {
	if s.Opts.PINs != RandomPINs {
		return nil
	}
	if err := privateDir(s.Opts.Letters); err != nil {
		return err
	}
	dirs, _ := filepath.Glob(filepath.Join(s.Opts.Letters, ".pending", "*"))
	var errs []error
	for _, r := range b.Rows {
		var holding []string
		for _, d := range dirs {
			for _, ext := range extensions {
				if fi, err := os.Stat(filepath.Join(d, safeName(r.UserPrincipalName)+ext)); err == nil {
					if r.State == api.StagingRegistered || time.Since(fi.ModTime()) > StaleAfter {
						holding = append(holding, d)
					}
				}
			}
		}
		switch {
		case len(holding) == 0:
		case r.State != api.StagingRegistered:
			for _, d := range holding {
				if err := RemoveLetter(d, r.UserPrincipalName); err != nil {
					errs = append(errs, err)
				}
			}
		case len(holding) == 1:
			if _, err := s.settle(holding[0], r.UserPrincipalName); err != nil {
				errs = append(errs, err)
			}
		default:
			errs = append(errs, fmt.Errorf("%s has %d pending PIN letters in %v: two stations staged them at once. Keep the one whose PIN the key takes (move it into the letters folder), delete the other, and start again",
				r.UserPrincipalName, len(holding), holding))
		}
	}
	return errors.Join(errs...)
}

// logged writes one line per key: the row, how far it got, how long it
// took, and the outcome's type or code. Never the PIN, and no UPN (the
// row id finds the person in tapd).
func (s *Stager) logged(row api.StagingRow, phase Phase, start time.Time, res Result, err error) {
	if s.Log == nil {
		return
	}
	ms := float64(time.Since(start).Microseconds()) / 1000
	name := "start"
	if phase >= 0 {
		name = phase.String()
	}
	if err != nil {
		outcome := fmt.Sprintf("%T", err)
		var ae *api.Error
		if errors.As(err, &ae) {
			outcome = string(ae.Code)
		} else if reason, _ := fido.Explain(err); reason != fido.ReasonOther {
			outcome = reason
		}
		s.Log.Info("stage", "batch", s.Batch.ID, "row", row.ID, "phase", name, "ms", ms, "outcome", outcome)
		return
	}
	s.Log.Info("stage", "batch", s.Batch.ID, "row", row.ID, "ms", ms, "outcome", "registered", "method_id", res.Method.ID,
		"serial", res.Serial, "pin_change_forced", res.ChangeForced, "warnings", len(res.Warnings))
}

// Close removes this kiosk's pending folder if nothing is left in it (and
// the pending folder above it, likewise): what is left is a letter whose
// key is not settled, which Reconcile handles on the next start.
func (s *Stager) Close() {
	if s.Opts.PINs != RandomPINs || s.station == "" {
		return
	}
	os.Remove(s.pendingDir())
	os.Remove(filepath.Dir(s.pendingDir()))
}
