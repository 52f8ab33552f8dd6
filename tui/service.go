package tui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
	"github.com/tapkiosk/tapkiosk/flows"
)

// Service is all the I/O the kiosk does: tapd and the security key. The
// model calls it only inside tea.Cmds, never in Update. Tests give the
// model a fake; the kiosk gives it Live.
type Service interface {
	Ready(ctx context.Context) error
	OpenSession(ctx context.Context, upn, pass string) (api.Session, error)
	SignOut(ctx context.Context) error
	Keys() ([]fido.Key, error)
	KeyFacts(path string) (fido.Info, fido.PINState, error)
	SetPIN(path, pin string) error
	// VerifyPIN asks the key to judge a PIN as it is typed (no touch).
	VerifyPIN(ctx context.Context, path, pin string) error
	// ChangePIN replaces the key's PIN (a key that wants it changed).
	ChangePIN(path, oldPIN, newPIN string) error
	// OwnCredentials lists the passkeys on the key of the signed-in
	// account (upn) at tapd's relying party, for a full key.
	OwnCredentials(ctx context.Context, path, pin, upn string) ([]fido.Credential, error)
	// DeleteCredential removes one passkey from the key.
	DeleteCredential(ctx context.Context, path, pin string, id []byte) error
	// Register runs creation options, the key and tapd's verification.
	Register(ctx context.Context, path, pin, name, product string) (api.FIDO2Method, error)
	// CheckKey runs the key check for the method; pin "" lets a key with
	// an enrolled finger verify the person with it.
	CheckKey(ctx context.Context, path, pin, methodID string) error
	// FingerSample takes one touch of the fingerprint sensor: begin
	// starts a finger (pin gets the key's token), else the finger begun
	// goes on. It waits for the touch until ctx ends.
	FingerSample(ctx context.Context, path, pin string, begin bool) (fido.Sample, error)
	// CancelFinger tells the key whose finger is begun and not finished
	// to drop it (the key is the one FingerSample began on).
	CancelFinger() error
	Methods(ctx context.Context) ([]api.AuthenticationMethod, error)
	DeleteMethod(ctx context.Context, id string) error
	DeletePass(ctx context.Context) error
}

// Live is the Service over tapd's client and the fido package. The client
// holds the session token between calls. Each call is logged with its
// duration and outcome, never its arguments: no UPN, pass or PIN.
type Live struct {
	Client *api.Client
	Log    *slog.Logger

	// bio is the finger being enrolled (it holds the key's token between
	// samples, so only the first needs the PIN).
	bioMu sync.Mutex
	bio   *fido.Enrolment
}

func (l *Live) done(op string, start time.Time, err error) {
	if l.Log == nil {
		return
	}
	outcome := "ok"
	var ae *api.Error
	switch {
	case err == nil:
	case errors.As(err, &ae):
		outcome = string(ae.Code)
	default:
		outcome = fmt.Sprintf("%T", err)
		if errors.Is(err, api.ErrUnreachable) {
			outcome = "unreachable"
		}
	}
	l.Log.Info("call", "op", op, "ms", float64(time.Since(start).Microseconds())/1000, "outcome", outcome)
}

var _ Service = (*Live)(nil)

func (l *Live) Ready(ctx context.Context) error { return l.Client.Ready(ctx) }

func (l *Live) OpenSession(ctx context.Context, upn, pass string) (s api.Session, err error) {
	defer func(t time.Time) { l.done("openSession", t, err) }(time.Now())
	return l.Client.OpenSession(ctx, upn, pass)
}

func (l *Live) SignOut(ctx context.Context) error {
	if l.Client.SessionToken == "" {
		return nil
	}
	err := l.Client.SignOut(ctx)
	l.Client.SessionToken = "" // forget it even if tapd could not be told
	return err
}

func (l *Live) Keys() ([]fido.Key, error) { return fido.Keys() }

func (l *Live) KeyFacts(path string) (info fido.Info, st fido.PINState, err error) {
	defer func(t time.Time) { l.done("keyFacts", t, err) }(time.Now())
	info, err = fido.GetInfo(path)
	if err != nil {
		return info, fido.PINState{}, err
	}
	st, err = fido.GetPINState(path)
	return info, st, err
}

func (l *Live) SetPIN(path, pin string) (err error) {
	defer func(t time.Time) { l.done("setPIN", t, err) }(time.Now())
	return fido.SetPIN(path, pin)
}

func (l *Live) VerifyPIN(ctx context.Context, path, pin string) (err error) {
	defer func(t time.Time) { l.done("verifyPIN", t, err) }(time.Now())
	return fido.VerifyPIN(ctx, path, pin)
}

func (l *Live) ChangePIN(path, oldPIN, newPIN string) (err error) {
	defer func(t time.Time) { l.done("changePIN", t, err) }(time.Now())
	return fido.ChangePIN(path, oldPIN, newPIN)
}

// OwnCredentials learns the relying party and the account's user handle
// from tapd's creation options (the challenge goes unused), then lists
// the key's passkeys there and keeps the account's.
func (l *Live) OwnCredentials(ctx context.Context, path, pin, upn string) (cs []fido.Credential, err error) {
	defer func(t time.Time) { l.done("ownCredentials", t, err) }(time.Now())
	opts, err := l.Client.CreationOptions(ctx)
	if err != nil {
		return nil, err
	}
	rp := opts.PublicKey.RelyingParty.ID
	all, err := fido.CredentialsFor(ctx, path, pin, rp)
	if err != nil {
		return nil, err
	}
	// A user.id that cannot be read leaves nil: OwnCredentials then goes
	// by the account's name alone.
	handle, _ := fido.UserHandle(opts.PublicKey.User.ID)
	return flows.OwnCredentials(all, rp, upn, handle), nil
}

func (l *Live) DeleteCredential(ctx context.Context, path, pin string, id []byte) (err error) {
	defer func(t time.Time) { l.done("deleteCredential", t, err) }(time.Now())
	return fido.DeleteCredential(ctx, path, pin, id)
}

func (l *Live) Register(ctx context.Context, path, pin, name, product string) (m api.FIDO2Method, err error) {
	defer func(t time.Time) { l.done("register", t, err) }(time.Now())
	// Options are fetched right before the touch: Microsoft Graph's
	// challenge lives five minutes.
	opts, err := l.Client.CreationOptions(ctx)
	if err != nil {
		return api.FIDO2Method{}, err
	}
	reg, err := fido.Register(ctx, path, fido.RegisterRequest{Options: opts.PublicKey, Origin: "https://" + opts.PublicKey.RelyingParty.ID, PIN: pin})
	if err != nil {
		return api.FIDO2Method{}, err
	}
	raw, _ := json.Marshal(reg)
	return l.Client.RegisterFIDO2(ctx, api.RegisterFIDO2Request{DisplayName: name, PublicKeyCredential: raw, KeyModel: product})
}

func (l *Live) CheckKey(ctx context.Context, path, pin, methodID string) (err error) {
	defer func(t time.Time) { l.done("checkKey", t, err) }(time.Now())
	opts, err := l.Client.AssertionOptions(ctx, methodID)
	if err != nil {
		return err
	}
	as, err := fido.Assert(ctx, path, fido.AssertRequest{Options: opts.PublicKey, Origin: "https://" + opts.PublicKey.RelyingPartyID, PIN: pin})
	if err != nil {
		return err
	}
	raw, _ := json.Marshal(as)
	_, err = l.Client.CheckKey(ctx, methodID, raw)
	return err
}

func (l *Live) Methods(ctx context.Context) (ms []api.AuthenticationMethod, err error) {
	defer func(t time.Time) { l.done("methods", t, err) }(time.Now())
	return l.Client.SessionMethods(ctx)
}

func (l *Live) DeleteMethod(ctx context.Context, id string) (err error) {
	defer func(t time.Time) { l.done("deleteMethod", t, err) }(time.Now())
	return l.Client.DeleteSessionMethod(ctx, id)
}

func (l *Live) DeletePass(ctx context.Context) (err error) {
	defer func(t time.Time) { l.done("deletePass", t, err) }(time.Now())
	return l.Client.DeleteSessionPass(ctx)
}

// sensorWait bounds one touch of the sensor when ctx has no deadline.
const sensorWait = 30 * time.Second

func (l *Live) FingerSample(ctx context.Context, path, pin string, begin bool) (s fido.Sample, err error) {
	defer func(t time.Time) { l.done("fingerSample", t, err) }(time.Now())
	wait := sensorWait
	if d, ok := ctx.Deadline(); ok {
		wait = min(time.Until(d), sensorWait)
	}
	l.bioMu.Lock()
	defer l.bioMu.Unlock()
	if begin {
		if l.bio != nil {
			l.bio.Close()
			l.bio = nil
		}
		en, s, err := fido.BeginEnrolment(ctx, path, pin, wait)
		if err == nil && s.Remaining > 0 {
			l.bio = en
		} else if en != nil {
			en.Close()
		}
		return s, err
	}
	if l.bio == nil {
		return fido.Sample{}, errNoFinger
	}
	s, err = l.bio.Next(ctx, wait)
	// A timeout or a cancel leaves the finger begun on the key; anything
	// else (or the last sample) ends it.
	if err == nil && s.Remaining > 0 || errors.Is(err, fido.ErrTouchTimeout) || errors.Is(err, fido.ErrCancelled) {
		return s, err
	}
	l.bio.Close()
	l.bio = nil
	return s, err
}

// errNoFinger is a sample asked to go on with no finger begun.
var errNoFinger = errors.New("no finger is being enrolled")

func (l *Live) CancelFinger() (err error) {
	defer func(t time.Time) { l.done("cancelFinger", t, err) }(time.Now())
	l.bioMu.Lock()
	defer l.bioMu.Unlock()
	if l.bio == nil {
		return nil
	}
	err = l.bio.Cancel()
	l.bio = nil
	return err
}
