package staging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/tap"
)

// PIN sources: the kiosk draws a random PIN for each key (and writes it
// into the person's letter), or the operator types one.
const (
	RandomPINs = "random"
	TypedPINs  = "typed"
)

// Options is how a batch's keys are set up. Every key gets the same.
type Options struct {
	// PINs is RandomPINs or TypedPINs.
	PINs string
	// PINLength and Alphabet shape random PINs.
	PINLength int
	Alphabet  string
	// MinPINLength is set on each key that takes authenticatorConfig (0
	// leaves the key's own). The key then refuses shorter PINs, also when
	// the person changes it.
	MinPINLength int
	// ForcePINChange makes each key ask for a new PIN on first use, so
	// nobody but the person knows the PIN the key is used with.
	ForcePINChange bool
	// Letters is the directory the PIN letters go to (random PINs), and
	// LetterFormat Text or PDF.
	Letters      string
	LetterFormat string
	// Org heads the letters.
	Org string
}

// Validate reports every problem with the options at once.
func (o Options) Validate() error {
	var errs []error
	switch o.PINs {
	case RandomPINs:
		if o.PINLength < 4 || o.PINLength > 63 {
			errs = append(errs, fmt.Errorf("--pin-length %d: use 4 to 63", o.PINLength))
		}
		if o.Alphabet != Digits && o.Alphabet != Alphanumeric {
			errs = append(errs, fmt.Errorf("--pin-alphabet %q: use %s or %s", o.Alphabet, Digits, Alphanumeric))
		}
		if o.Letters == "" {
			errs = append(errs, errors.New("--letters is required with random PINs: the directory the PIN letters are written to"))
		}
		if o.LetterFormat != Text && o.LetterFormat != PDF {
			errs = append(errs, fmt.Errorf("--letter-format %q: use %s or %s", o.LetterFormat, Text, PDF))
		}
		if o.MinPINLength > o.PINLength {
			errs = append(errs, fmt.Errorf("--min-pin-length %d is longer than --pin-length %d: the keys would refuse their own PINs", o.MinPINLength, o.PINLength))
		}
	case TypedPINs:
	default:
		errs = append(errs, fmt.Errorf("--pins %q: use %s or %s", o.PINs, RandomPINs, TypedPINs))
	}
	if o.MinPINLength != 0 && (o.MinPINLength < 4 || o.MinPINLength > 63) {
		errs = append(errs, fmt.Errorf("--min-pin-length %d: use 4 to 63, or 0 to leave each key's own", o.MinPINLength))
	}
	return errors.Join(errs...)
}

// Phase is what Stage is doing, for the screen.
type Phase int

// The phases of one key, in order.
const (
	PhaseOptions Phase = iota
	PhaseLetter
	PhasePIN
	PhaseMinLength
	PhaseTouch
	PhaseVerify
	PhaseForceChange
)

// Phases lists them in order, for a screen that shows what is done.
var Phases = []Phase{PhaseOptions, PhaseLetter, PhasePIN, PhaseMinLength, PhaseTouch, PhaseVerify, PhaseForceChange}

var phaseNames = [...]string{"options", "letter", "pin", "minLength", "touch", "verify", "forceChange"}

func (p Phase) String() string { return phaseNames[p] }

// Result is how one key went.
type Result struct {
	Method api.FIDO2Method
	Serial string
	// Letter is the PIN letter's path (random PINs).
	Letter string
	// MinLengthSet and ChangeForced say what the key took; a key without
	// authenticatorConfig (CTAP 2.0) takes neither, and Warnings say so.
	MinLengthSet bool
	ChangeForced bool
	Warnings     []error
}

// ErrNotEmpty is a key that has a PIN the kiosk does not know, or holds
// passkeys: it must be reset (after the operator confirms) before it can
// be staged. A *NotEmptyError says how many passkeys, when they were
// counted.
var ErrNotEmpty = errors.New("the key is not empty")

// NotEmptyError is a key found to hold passkeys already.
type NotEmptyError struct{ Passkeys int }

func (e *NotEmptyError) Error() string        { return fmt.Sprintf("the key holds %d passkeys", e.Passkeys) }
func (e *NotEmptyError) Is(target error) bool { return target == ErrNotEmpty }

// ErrNoAuthnrCfg is a warning: the key cannot take a minimum PIN length
// or a forced PIN change (a CTAP 2.0 key).
var ErrNoAuthnrCfg = errors.New("the key cannot set a minimum PIN length or force a PIN change (CTAP 2.0)")

// Stager stages keys for one batch: it sets each key up and registers it
// for the row's person at tapd. It does no UI; the kiosk calls it inside
// a tea.Cmd and shows the phases as they come.
type Stager struct {
	Client *api.Client
	Batch  api.StagingBatch
	Opts   Options
	Log    *slog.Logger
	Now    func() time.Time
}

func (s *Stager) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// KeyName is the name the row's key is registered under: the batch's, or
// the usual default of model and day.
func (s *Stager) KeyName(row api.StagingRow, product string) string {
	if row.KeyName != "" {
		return row.KeyName
	}
	return tap.DefaultKeyName(product, s.now())
}

// Stage sets up the key and registers it for row. pin is the PIN to set,
// or the PIN already on the key when pinSet (a retry of the same row with
// the same key, which the kiosk has checked with VerifyPIN). progress is
// told each phase before it starts. The PIN goes to the key and the
// letter only; it is in no error, log or request to tapd.
//
// A failure before tapd has the key leaves the row pending: the kiosk
// retries or the operator skips. After tapd has it, forcing the PIN
// change is best effort: the key is registered either way, and a failure
// is a warning.
func (s *Stager) Stage(ctx context.Context, row api.StagingRow, key fido.Key, pin string, pinSet bool, progress func(Phase)) (res Result, err error) {
	phase := Phase(-1)
	start := time.Now()
	defer func() { s.logged(row, phase, start, res, err) }()
	report := progress
	progress = func(p Phase) { phase = p; report(p) }
	info, err := fido.GetInfo(key.Path)
	if err != nil {
		return res, err
	}
	if info.PINSet && !pinSet {
		return res, ErrNotEmpty
	}
	if !info.ResidentKeys {
		return res, &fido.UnsupportedKeyError{Reason: fido.ReasonNoResidentKeys}
	}
	res.Serial = fido.Serial(key.Path)
	keyName := s.KeyName(row, key.Product)
	// tapd first: it refuses a row that has its key already (or that
	// another station holds) before anything is written, so a stale view
	// of the batch can never overwrite a person's letter with a PIN that
	// is not on their key. The challenge lives five minutes (Graph's);
	// what follows takes seconds and one touch.
	progress(PhaseOptions)
	opts, err := s.Client.UserCreationOptions(ctx, row.UserPrincipalName, s.Batch.ID, row.ID)
	if err != nil {
		return res, err
	}
	if s.Opts.PINs == RandomPINs {
		// The letter is written before the PIN is set, so a PIN is never
		// on a key without its letter, even if the kiosk dies next.
		progress(PhaseLetter)
		res.Letter, err = WriteLetter(s.Opts.Letters, s.Opts.LetterFormat, Letter{
			Org: s.Opts.Org, Batch: s.Batch.Name, UPN: row.UserPrincipalName, DisplayName: row.DisplayName, KeyName: keyName,
			Model: key.Product, Serial: res.Serial, PIN: pin, MinPINLength: max(s.Opts.MinPINLength, info.MinPINLength),
			ChangeForced: s.Opts.ForcePINChange && info.AuthnrCfg, Time: s.now(),
		})
		if err != nil {
			return res, err
		}
	}
	if !pinSet {
		progress(PhasePIN)
		if err := fido.SetPIN(key.Path, pin); err != nil {
			return res, err
		}
		// A key without a PIN may still hold passkeys (CTAP 2.0 keys
		// make them without one). Nothing of anyone else's goes out on a
		// staged key: with the PIN set they can be counted.
		if info.CredMgmt {
			creds, err := fido.CredentialsFor(ctx, key.Path, pin, "")
			if err != nil {
				return res, err
			}
			if len(creds) > 0 {
				return res, &NotEmptyError{Passkeys: len(creds)}
			}
		}
	}
	cfg := info.AuthnrCfg
	if (s.Opts.MinPINLength > 0 || s.Opts.ForcePINChange) && !cfg {
		res.Warnings = append(res.Warnings, ErrNoAuthnrCfg)
	}
	if cfg && s.Opts.MinPINLength > info.MinPINLength {
		progress(PhaseMinLength)
		if err := fido.SetMinPINLength(ctx, key.Path, pin, s.Opts.MinPINLength); err != nil {
			return res, err
		}
		res.MinLengthSet = true
	} else if cfg && s.Opts.MinPINLength > 0 {
		res.MinLengthSet = true // the key's own is that long already
	}

	progress(PhaseTouch)
	reg, err := fido.Register(ctx, key.Path, fido.RegisterRequest{Options: opts.PublicKey, Origin: "https://" + opts.PublicKey.RelyingParty.ID, PIN: pin})
	if err != nil {
		return res, err
	}
	raw, err := json.Marshal(reg)
	if err != nil {
		return res, err
	}
	progress(PhaseVerify)
	res.Method, err = s.Client.RegisterUserFIDO2(ctx, row.UserPrincipalName, api.StagedFIDO2Request{
		RegisterFIDO2Request: api.RegisterFIDO2Request{DisplayName: keyName, PublicKeyCredential: raw, KeyModel: key.Product},
		StagingBatchID:       s.Batch.ID, StagingRowID: row.ID, SerialNumber: res.Serial,
	})
	if err != nil {
		return res, err
	}
	if cfg && s.Opts.ForcePINChange {
		progress(PhaseForceChange)
		if err := fido.ForcePINChange(ctx, key.Path, pin); err != nil {
			res.Warnings = append(res.Warnings, fmt.Errorf("the PIN change could not be forced: %w", err))
			return res, nil
		}
		res.ChangeForced = true
		forced := true
		if _, err := s.Client.UpdateStagingRow(ctx, s.Batch.ID, row.ID, api.StagingRowPatch{PINChangeForced: &forced}); err != nil {
			// The key asks for the change either way; only the manifest
			// would say otherwise. Say so rather than fail a good key.
			res.Warnings = append(res.Warnings, fmt.Errorf("tapd did not record the forced PIN change: %w", err))
		}
	}
	return res, nil
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

// Fail records that the row's key could not be staged, with a reason
// the manifest and `tapctl staging show` give, and removes the person's
// letter: its PIN will never be on a key of theirs.
func (s *Stager) Fail(ctx context.Context, row api.StagingRow, reason string) error {
	if s.Opts.PINs == RandomPINs {
		if err := RemoveLetter(s.Opts.Letters, row.UserPrincipalName); err != nil {
			return err
		}
	}
	failed := api.StagingFailed
	_, err := s.Client.UpdateStagingRow(ctx, s.Batch.ID, row.ID, api.StagingRowPatch{State: &failed, FailureReason: &reason})
	return err
}

// Retry puts the batch's failed rows back to pending, for another round.
func (s *Stager) Retry(ctx context.Context, rows []api.StagingRow) error {
	pending := api.StagingPending
	empty := ""
	for _, r := range rows {
		if r.State != api.StagingFailed {
			continue
		}
		if _, err := s.Client.UpdateStagingRow(ctx, s.Batch.ID, r.ID, api.StagingRowPatch{State: &pending, FailureReason: &empty}); err != nil {
			return err
		}
	}
	return nil
}

// WriteManifest writes the batch's manifest, as tapd keeps it, into dir
// as <batch>-manifest.csv and .json (0600, replaced whole), and returns
// the two paths.
func (s *Stager) WriteManifest(ctx context.Context, dir string) ([]string, error) {
	csv, err := s.Client.StagingManifestCSV(ctx, s.Batch.ID)
	if err != nil {
		return nil, err
	}
	entries, err := s.Client.StagingManifest(ctx, s.Batch.ID)
	if err != nil {
		return nil, err
	}
	js, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := privateDir(dir); err != nil {
		return nil, err
	}
	base := filepath.Join(dir, safeName(s.Batch.Name)+"-manifest")
	var out []string
	for _, f := range []struct {
		path string
		data []byte
	}{{base + ".csv", csv}, {base + ".json", append(js, '\n')}} {
		if err := writeAtomic(f.path, f.data); err != nil {
			return out, err
		}
		out = append(out, f.path)
	}
	return out, nil
}
