package fido

import (
	"context"
	"errors"

	libfido2 "github.com/keys-pub/go-libfido2"
)

// Credential is a passkey kept on the key (a resident credential), as
// credential management lists it.
type Credential struct {
	ID          []byte // credential id, as the relying party knows it
	RPID        string
	UserHandle  []byte // the relying party's user.id
	UserName    string
	DisplayName string
}

// ReasonNoCredMgmt: the key cannot list or delete its passkeys.
const ReasonNoCredMgmt = "noCredMgmt"

// CredentialsFor lists the passkeys on the key at path for rpID, or for
// every relying party on the key when rpID is "". Each look spends a PIN
// token (credential management permission), so a wrong PIN gives a
// *PINWrongError as VerifyPIN does. A key without credential management
// gives an UnsupportedKeyError with ReasonNoCredMgmt; a key with no
// passkeys gives an empty list.
//
// Whether the key has room for another passkey is Info's
// RemainingResidentKeys; Register's ErrKeyFull says it had none for a new
// account.
func CredentialsFor(ctx context.Context, path, pin, rpID string) ([]Credential, error) {
	dev, err := credMgmtDevice(path, pin)
	if err != nil {
		return nil, err
	}
	rps := []string{rpID}
	if rpID == "" {
		var list []*libfido2.RelyingParty
		err = untilDone(ctx, dev, func() (err error) { list, err = dev.RelyingParties(pin); return err })
		if errors.Is(err, libfido2.ErrNoCredentials) {
			return nil, nil
		}
		if err != nil {
			return nil, keyErr("listRelyingParties", path, err)
		}
		rps = rps[:0]
		for _, rp := range list {
			rps = append(rps, rp.ID)
		}
	}
	var out []Credential
	for _, rp := range rps {
		var creds []*libfido2.Credential
		err = untilDone(ctx, dev, func() (err error) { creds, err = dev.Credentials(rp, pin); return err })
		if errors.Is(err, libfido2.ErrNoCredentials) {
			continue
		}
		if err != nil {
			return nil, keyErr("listCredentials", path, err)
		}
		for _, c := range creds {
			out = append(out, Credential{ID: c.ID, RPID: rp, UserHandle: c.User.ID, UserName: c.User.Name, DisplayName: c.User.DisplayName})
		}
	}
	return out, nil
}

// DeleteCredential removes the passkey credID from the key at path, which
// frees its slot. A key that does not hold it gives ErrNotRegisteredOnKey;
// PIN and key errors are as in CredentialsFor.
func DeleteCredential(ctx context.Context, path, pin string, credID []byte) error {
	if len(credID) == 0 {
		return errors.New("no credential id to delete") // go-libfido2 would panic on an empty slice
	}
	dev, err := credMgmtDevice(path, pin)
	if err != nil {
		return err
	}
	err = untilDone(ctx, dev, func() error { return dev.DeleteCredential(credID, pin) })
	if errors.Is(err, libfido2.ErrNoCredentials) {
		return ErrNotRegisteredOnKey
	}
	return keyErr("deleteCredential", path, err)
}

// credMgmtDevice opens a key for credential management after checking it
// has it, and a PIN to use it with.
func credMgmtDevice(path, pin string) (*libfido2.Device, error) {
	info, err := GetInfo(path)
	switch {
	case err != nil:
		return nil, err
	case !info.CredMgmt:
		return nil, &UnsupportedKeyError{Reason: ReasonNoCredMgmt}
	case !info.PINSet:
		return nil, ErrPINNotSet
	case pin == "":
		return nil, ErrPINRequired
	}
	return libfido2.NewDevice(path)
}
