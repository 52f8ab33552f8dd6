package fido

import (
	"context"
	"errors"

	libfido2 "github.com/keys-pub/go-libfido2"
)

// IT staging of keys for users (issue 14): CTAP 2.1 authenticatorConfig
// and authenticatorReset. The config calls need the key's PIN when it has
// one (libfido2 gets a pinUvAuthToken with the acfg permission); a key
// without a PIN takes them with pin "". A wrong PIN costs one try and
// gives a *PINWrongError with the tries left, as everywhere; a key whose
// PIN must change first gives ErrPINChangeRequired; a key without the
// feature an *UnsupportedKeyError (ReasonNoAuthnrCfg,
// ReasonNoSetMinPINLength, ReasonNoAlwaysUV). None waits for a touch,
// but on a key with built-in UV libfido2 may wait for a finger: ctx
// cancels that.

// SetMinPINLength raises the key's minimum PIN length to minLen
// (setMinPINLength). The minimum never goes down short of a reset, so a
// lower minLen than the key's, or one above MaxPINBytes, is refused before
// anything is sent, with a *MinPINLengthError. If the key's current PIN
// is shorter than minLen the key sets forcePINChange itself: Info then
// says ForcePINChange, and the PIN works for nothing but ChangePIN to one
// of at least minLen characters. To force a change regardless, follow
// with ForcePINChange (libfido2 sends forceChangePin only on its own).
func SetMinPINLength(ctx context.Context, path, pin string, minLen int) error {
	info, err := GetInfo(path)
	if err != nil {
		return err
	}
	if minLen < info.MinPINLength || minLen > MaxPINBytes {
		return &MinPINLengthError{Asked: minLen, Current: info.MinPINLength}
	}
	err = configure(ctx, path, opSetMinPINLength, cfgMinPINLength, minLen, pin)
	if errors.Is(err, ErrPINChangeRequired) && !info.ForcePINChange {
		// Not the token step (the key demanded no change): the key's own
		// minimum is higher than its getInfo said.
		return &MinPINLengthError{Asked: minLen, Current: info.MinPINLength}
	}
	return err
}

// ForcePINChange makes the key demand a new PIN (setMinPINLength with
// forceChangePin and the minimum unchanged): until the person runs
// ChangePIN, Register, Assert and VerifyPIN give ErrPINChangeRequired. A
// key without a PIN gives ErrPINNotSet.
func ForcePINChange(ctx context.Context, path, pin string) error {
	return configure(ctx, path, opForcePINChange, cfgForcePINChange, 0, pin)
}

// ToggleAlwaysUV flips the key's alwaysUv option (Info.AlwaysUV): when on,
// the key verifies the user (PIN or built-in UV) for every registration
// and sign-in, even where the relying party does not ask.
func ToggleAlwaysUV(ctx context.Context, path, pin string) error {
	return configure(ctx, path, opToggleAlwaysUV, cfgToggleAlwaysUV, 0, pin)
}

// Reset wipes the key (authenticatorReset): every passkey, the PIN and
// the configuration (minimum PIN length, alwaysUv) go, and the key is as
// it left the factory. Keys take it only within seconds of power-up and
// after a touch, so the kiosk must ask the person to unplug and replug
// the key, then call Reset at once and ask for the touch. Errors:
// ErrResetNotAllowed (too long since plug-in: replug and try again
// within 10 s), ErrTouchTimeout (no touch in time, or ctx's deadline),
// ErrOperationDenied (the person refused on the key), ErrCancelled (ctx
// cancelled), ErrKeyRemoved, *UnsupportedKeyError for a U2F-only key.
func Reset(ctx context.Context, path string) error {
	dev, err := libfido2.NewDevice(path)
	if err != nil {
		return err
	}
	// libfido2 would send a U2F key CTAP2's reset and read garbage back.
	if typ, err := dev.Type(); err != nil {
		return mapErr(opReset, err, path)
	} else if typ != libfido2.FIDO2 {
		return &UnsupportedKeyError{Reason: ReasonU2FOnly}
	}
	err = untilDone(ctx, dev, dev.Reset)
	return mapTouchErr(ctx, path, opReset, err)
}
