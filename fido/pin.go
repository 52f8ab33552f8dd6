package fido

import (
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"unicode/utf8"

	libfido2 "github.com/keys-pub/go-libfido2"
)

// MaxPINBytes is CTAP's limit: the PIN is padded to 64 bytes with at least
// one zero byte.
const MaxPINBytes = 63

// CheckPIN applies the key's rules to a candidate before it is sent, so a
// person learns what is wrong without spending a try: at least minLen
// characters (4 if the key does not say), at most 63 bytes of UTF-8, no NUL.
func CheckPIN(pin string, minLen int) error {
	if minLen < 4 {
		minLen = 4
	}
	switch {
	case !utf8.ValidString(pin):
		return &PINPolicyError{Rule: RuleNotUTF8, MinLen: minLen}
	case containsNUL(pin):
		return &PINPolicyError{Rule: RuleNUL, MinLen: minLen}
	case utf8.RuneCountInString(pin) < minLen:
		return &PINPolicyError{Rule: RuleTooShort, MinLen: minLen}
	case len(pin) > MaxPINBytes:
		return &PINPolicyError{Rule: RuleTooLong, MinLen: minLen}
	}
	return nil
}

// CheckNewPIN is CheckPIN for a new PIN typed twice: ErrPINsDiffer when
// the two differ. The walk-up journey and staging both ask for one so.
func CheckNewPIN(pin, again string, minLen int) error {
	if err := CheckPIN(pin, minLen); err != nil {
		return err
	}
	if pin != again {
		return ErrPINsDiffer
	}
	return nil
}

// ErrPINsDiffer is a new PIN typed differently the second time.
var ErrPINsDiffer = errors.New("the two PINs differ")

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

// PINState is whether the key has a PIN and how many tries are left.
type PINState struct {
	Set     bool
	Retries int // -1 when no PIN is set
	Blocked bool
}

// GetPINState reads the PIN state of the key at path.
func GetPINState(path string) (PINState, error) {
	info, err := GetInfo(path)
	if err != nil {
		return PINState{}, err
	}
	if !info.PINSet {
		return PINState{Retries: -1}, nil
	}
	dev, err := libfido2.NewDevice(path)
	if err != nil {
		return PINState{}, err
	}
	n, err := dev.RetryCount()
	if err != nil {
		return PINState{}, mapErr("getPINRetries", err, path)
	}
	return PINState{Set: true, Retries: n, Blocked: n == 0}, nil
}

// deviceForNewPIN checks a new PIN against the key's rules before any try
// is spent, and opens the key.
func deviceForNewPIN(path, pin string) (*libfido2.Device, error) {
	info, err := GetInfo(path)
	if err != nil {
		return nil, err
	}
	if err := CheckPIN(pin, info.MinPINLength); err != nil {
		return nil, err
	}
	return libfido2.NewDevice(path)
}

// SetPIN gives a key without a PIN its first one.
func SetPIN(path, pin string) error {
	dev, err := deviceForNewPIN(path, pin)
	if err != nil {
		return err
	}
	return mapErr(opSetPIN, dev.SetPIN(pin, ""), path)
}

// ChangePIN replaces the PIN. A wrong old PIN gives a PINWrongError with
// the tries left. It is also the answer to ErrPINChangeRequired: a key
// with forcePINChange accepts its old PIN here, and only here, and clears
// the demand once the PIN has changed (a new PIN equal to the old one is
// refused with a PINPolicyError of rule RuleKeyPolicy).
func ChangePIN(path, oldPIN, newPIN string) error {
	dev, err := deviceForNewPIN(path, newPIN)
	if err != nil {
		return err
	}
	return keyErr(opChangePIN, path, dev.SetPIN(newPIN, oldPIN))
}

// pinCheckRP is a relying party no key holds a passkey for: VerifyPIN's
// fallback asks for an assertion there, which cannot succeed.
const pinCheckRP = "pin-check.tapkiosk.invalid"

// VerifyPIN checks pin on the key at path when the person types it, so a
// wrong PIN is caught before any touch, with the tries left. It costs the
// key one PIN token and changes nothing on it:
//
//   - a key with credential management gets getCredsMetadata
//     (fido_credman_get_dev_metadata: key agreement, then
//     getPinUvAuthTokenUsingPinWithPermissions with the cm permission, or
//     getPinToken on an older key, then the metadata call itself);
//   - any other FIDO2 key gets an assertion without user presence for a
//     relying party nobody registers (pinCheckRP): the PIN token step
//     checks the PIN, then the key answers "no credentials", which means
//     the PIN was right.
//
// No touch is needed. Errors: *PINWrongError with the tries left,
// ErrPINBlocked, ErrPINAuthBlocked (three wrong in a row: the key must be
// unplugged and plugged in again; it refuses without spending a try),
// ErrPINChangeRequired (right PIN, but the key wants it changed: see
// ChangePIN), ErrPINNotSet, ErrPINRequired for an empty pin, and the
// usual key errors (ErrKeyRemoved, *UnsupportedKeyError, ...).
func VerifyPIN(ctx context.Context, path, pin string) error {
	if pin == "" {
		return ErrPINRequired
	}
	dev, err := libfido2.NewDevice(path)
	if err != nil {
		return err
	}
	di, err := dev.Info()
	if err != nil {
		return mapErr("getInfo", err, path)
	}
	if !optionOn(di, "clientPin") {
		return ErrPINNotSet
	}
	credMgmt := optionOn(di, "credMgmt") || optionOn(di, "credentialMgmtPreview")
	err = untilDone(ctx, dev, func() error {
		if credMgmt {
			_, err := dev.CredentialsInfo(pin)
			return err
		}
		cdh := sha256.Sum256([]byte(pinCheckRP))
		_, err := dev.Assertion(pinCheckRP, cdh[:], nil, pin, &libfido2.AssertionOpts{UP: libfido2.False})
		if errors.Is(err, libfido2.ErrNoCredentials) {
			return nil
		}
		return err
	})
	if err != nil {
		return mapTouchErr(ctx, path, "verifyPIN", err)
	}
	return nil
}

// optionOn reads a getInfo option.
func optionOn(di *libfido2.DeviceInfo, name string) bool {
	return slices.ContainsFunc(di.Options, func(o libfido2.Option) bool { return o.Name == name && o.Value == libfido2.True })
}

// optionListed reports whether getInfo lists the option at all: for some
// (bioEnroll), false means "can, but not set up yet".
func optionListed(di *libfido2.DeviceInfo, name string) bool {
	return slices.ContainsFunc(di.Options, func(o libfido2.Option) bool { return o.Name == name })
}

// withRetries fills in the tries left on a wrong-PIN error (a count of 0
// means the wrong PIN just blocked the key) and on a PINAuthBlockedError,
// so the kiosk can say what the block cost. getPINRetries needs no PIN
// and works while the key refuses PINs until replugged.
func withRetries(path string, err error) error {
	pw, wrong := err.(*PINWrongError)
	ab, blocked := err.(*PINAuthBlockedError)
	if !wrong && !blocked {
		return err
	}
	dev, derr := libfido2.NewDevice(path)
	if derr != nil {
		return err
	}
	n, rerr := dev.RetryCount()
	switch {
	case rerr != nil:
	case blocked:
		ab.RetriesLeft = n
	case n == 0:
		return ErrPINBlocked
	default:
		pw.RetriesLeft = n
	}
	return err
}
