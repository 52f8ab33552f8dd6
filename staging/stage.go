package staging

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/tap"
)

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
	// Touch is how long the key waits for the touch (default 60 s).
	Touch time.Duration
	// Serial reads a key's serial number (default fido.Serial); the demo
	// build gives its virtual keys theirs.
	Serial func(path string) string

	once    sync.Once
	station string // names this kiosk's pending letters
}

// SerialOf is the key's serial number, "" when it shows none.
func (s *Stager) SerialOf(path string) string {
	if s.Serial == nil {
		return fido.Serial(path)
	}
	return s.Serial(path)
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
// is a warning. A retry after tapd recorded the key but its answer was
// lost finds the row registered with this very key, and finishes it.
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
	if err := fido.CheckPIN(pin, info.MinPINLength); err != nil {
		// The key's own rule (its minimum may be above the batch's), said
		// before anything is written.
		return res, fmt.Errorf("this key refuses the batch's PIN (its minimum length is %d): stage it with a longer --pin-length, or use another key: %w", info.MinPINLength, err)
	}
	res.Serial = s.SerialOf(key.Path)
	keyName := s.KeyName(row, key.Product)
	l := Letter{Org: s.Opts.Org, LiveAtOnce: s.Opts.LiveAtOnce, Batch: s.Batch.Name, UPN: row.UserPrincipalName, DisplayName: row.DisplayName, KeyName: keyName,
		Model: key.Product, Serial: res.Serial, PIN: pin, MinPINLength: max(s.Opts.MinPINLength, info.MinPINLength),
		ChangeForced: s.Opts.ForcePINChange && info.AuthnrCfg, Time: s.now(), Lang: LetterLanguage(row.PreferredLanguage, s.Opts.LetterLang)}

	// tapd first: it refuses a row that has its key already (or that
	// another station holds) before anything is written, so a stale view
	// of the batch can never overwrite a person's letter. The challenge
	// lives five minutes (Graph's); what follows takes seconds and a touch.
	progress(PhaseOptions)
	tctx, cancel := context.WithTimeout(ctx, CallTimeout)
	opts, err := s.Client.UserCreationOptions(tctx, row.UserPrincipalName, s.Batch.ID, row.ID)
	cancel()
	if isCode(err, api.CodeStagingRowRegistered) && pinSet {
		if m, ours := s.registeredWith(ctx, row, key.Path, pin, nil); ours {
			res.Method = m
			return s.finish(ctx, row, key, pin, info, l, res, progress)
		}
	}
	if err != nil {
		return res, err
	}
	if s.Opts.PINs == RandomPINs {
		// The letter is written (to the pending folder) before the PIN is
		// set, so a PIN is never on a key without its letter, even if the
		// kiosk dies next; it moves beside the others once tapd has the key.
		progress(PhaseLetter)
		if _, err := WriteLetter(s.pendingDir(), s.Opts.LetterFormat, l); err != nil {
			return res, err
		}
	}
	if !pinSet {
		progress(PhasePIN)
		if err := fido.SetPIN(key.Path, pin); err != nil {
			return res, err
		}
	}
	// A key without a PIN may still hold passkeys (CTAP 2.0 keys make
	// them without one), and one pulled and plugged back may be another:
	// nothing of anyone else's goes out on a staged key.
	if info.CredMgmt {
		creds, err := fido.CredentialsFor(ctx, key.Path, pin, "")
		if err != nil {
			return res, err
		}
		if len(creds) > 0 {
			return res, &NotEmptyError{Passkeys: len(creds)}
		}
	}
	if (s.Opts.MinPINLength > 0 || s.Opts.ForcePINChange) && !info.AuthnrCfg {
		res.Warnings = append(res.Warnings, ErrNoAuthnrCfg)
	}
	if info.AuthnrCfg && s.Opts.MinPINLength > info.MinPINLength {
		progress(PhaseMinLength)
		if err := fido.SetMinPINLength(ctx, key.Path, pin, s.Opts.MinPINLength); err != nil {
			return res, err
		}
		res.MinLengthSet = true
	} else if info.AuthnrCfg && s.Opts.MinPINLength > 0 {
		res.MinLengthSet = true // the key's own is that long already
	}

	progress(PhaseTouch)
	touch := s.Touch
	if touch <= 0 {
		touch = 60 * time.Second
	}
	kctx, cancel := context.WithTimeout(ctx, touch)
	reg, err := fido.Register(kctx, key.Path, fido.RegisterRequest{Options: opts.PublicKey, Origin: "https://" + opts.PublicKey.RelyingParty.ID, PIN: pin})
	cancel()
	if err != nil {
		return res, err
	}
	raw, err := json.Marshal(reg)
	if err != nil {
		return res, err
	}
	progress(PhaseVerify)
	tctx, cancel = context.WithTimeout(ctx, CallTimeout)
	res.Method, err = s.Client.RegisterUserFIDO2(tctx, row.UserPrincipalName, api.StagedFIDO2Request{
		RegisterFIDO2Request: api.RegisterFIDO2Request{DisplayName: keyName, PublicKeyCredential: raw, KeyModel: key.Product},
		StagingBatchID:       s.Batch.ID, StagingRowID: row.ID, SerialNumber: res.Serial,
	})
	cancel()
	if isCode(err, api.CodeStagingRowRegistered) {
		// Our own write, whose answer was lost and retried?
		if m, ours := s.registeredWith(ctx, row, "", "", []string{reg.ID}); ours {
			res.Method, err = m, nil
		}
	}
	if err != nil {
		return res, err
	}
	return s.finish(ctx, row, key, pin, info, l, res, progress)
}

// CallTimeout bounds each call to tapd within Stage.
const CallTimeout = 20 * time.Second

// finish does what follows tapd's record of the key: the forced PIN
// change (and its record), and the letter moved beside the others, said
// again if the change could not be forced after all.
func (s *Stager) finish(ctx context.Context, row api.StagingRow, key fido.Key, pin string, info fido.Info, l Letter, res Result, progress func(Phase)) (Result, error) {
	if info.AuthnrCfg && s.Opts.ForcePINChange {
		progress(PhaseForceChange)
		if err := fido.ForcePINChange(ctx, key.Path, pin); err != nil {
			res.Warnings = append(res.Warnings, fmt.Errorf("the PIN change could not be forced: %w", err))
		} else {
			res.ChangeForced = true
			forced := true
			tctx, cancel := context.WithTimeout(ctx, CallTimeout)
			_, err := s.Client.UpdateStagingRow(tctx, s.Batch.ID, row.ID, api.StagingRowPatch{PINChangeForced: &forced})
			cancel()
			if err != nil {
				// The key asks for the change either way; only the manifest
				// would say otherwise. Say so rather than fail a good key.
				res.Warnings = append(res.Warnings, fmt.Errorf("tapd did not record the forced PIN change: %w", err))
			}
		}
	}
	if s.Opts.PINs != RandomPINs {
		return res, nil
	}
	var err error
	if l.ChangeForced && !res.ChangeForced {
		// The letter must not promise a change the key will not ask for.
		l.ChangeForced = false
		if res.Letter, err = WriteLetter(s.Opts.Letters, s.Opts.LetterFormat, l); err == nil {
			err = RemoveLetter(s.pendingDir(), row.UserPrincipalName)
		}
	} else {
		res.Letter, err = s.settle(s.pendingDir(), row.UserPrincipalName)
	}
	if err == nil {
		// Any other pending letter for them (a stopped kiosk's, a losing
		// station's) holds a PIN that is on no key of theirs.
		err = s.dropPending(row.UserPrincipalName)
	}
	if err != nil {
		res.Warnings = append(res.Warnings, fmt.Errorf("the PIN letter is still in %s: %w", s.pendingDir(), err))
	}
	return res, nil
}

// registeredWith reports whether the row is registered with this key: its
// credential is on the key (looked up with the PIN), or is one of ids.
func (s *Stager) registeredWith(ctx context.Context, row api.StagingRow, path, pin string, ids []string) (api.FIDO2Method, bool) {
	tctx, cancel := context.WithTimeout(ctx, CallTimeout)
	b, err := s.Client.GetStagingBatch(tctx, s.Batch.ID)
	cancel()
	if err != nil {
		return api.FIDO2Method{}, false
	}
	for _, r := range b.Rows {
		if r.ID != row.ID || r.State != api.StagingRegistered || r.CredentialID == "" {
			continue
		}
		if path != "" {
			creds, err := fido.CredentialsFor(ctx, path, pin, "")
			if err != nil {
				return api.FIDO2Method{}, false
			}
			for _, c := range creds {
				ids = append(ids, base64.RawURLEncoding.EncodeToString(c.ID))
			}
		}
		if slices.Contains(ids, r.CredentialID) {
			return api.FIDO2Method{ID: r.MethodID, DisplayName: r.KeyName, AAGUID: r.AAGUID, Model: r.Model}, true
		}
	}
	return api.FIDO2Method{}, false
}

func isCode(err error, code api.Code) bool {
	var ae *api.Error
	return errors.As(err, &ae) && ae.Code == code
}
