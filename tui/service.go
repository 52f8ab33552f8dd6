package tui

import (
	"context"
	"encoding/json"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/fido"
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
	// Register runs creation options, the key and tapd's verification.
	Register(ctx context.Context, path, pin, name, product string) (api.FIDO2Method, error)
	// CheckKey runs the key check for the method.
	CheckKey(ctx context.Context, path, pin, methodID string) error
	Methods(ctx context.Context) ([]api.AuthenticationMethod, error)
	DeleteMethod(ctx context.Context, id string) error
	DeletePass(ctx context.Context) error
}

// Live is the Service over tapd's client and the fido package. The client
// holds the session token between calls.
type Live struct {
	Client *api.Client
}

var _ Service = (*Live)(nil)

func (l *Live) Ready(ctx context.Context) error { return l.Client.Ready(ctx) }

func (l *Live) OpenSession(ctx context.Context, upn, pass string) (api.Session, error) {
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

func (l *Live) KeyFacts(path string) (fido.Info, fido.PINState, error) {
	info, err := fido.GetInfo(path)
	if err != nil {
		return info, fido.PINState{}, err
	}
	st, err := fido.GetPINState(path)
	return info, st, err
}

func (l *Live) SetPIN(path, pin string) error { return fido.SetPIN(path, pin) }

func (l *Live) Register(ctx context.Context, path, pin, name, product string) (api.FIDO2Method, error) {
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

func (l *Live) CheckKey(ctx context.Context, path, pin, methodID string) error {
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

func (l *Live) Methods(ctx context.Context) ([]api.AuthenticationMethod, error) {
	return l.Client.SessionMethods(ctx)
}

func (l *Live) DeleteMethod(ctx context.Context, id string) error {
	return l.Client.DeleteSessionMethod(ctx, id)
}

func (l *Live) DeletePass(ctx context.Context) error { return l.Client.DeleteSessionPass(ctx) }
