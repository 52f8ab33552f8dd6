package fido

import (
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
		return PINState{}, mapErr("getPINRetries", err, func() bool { return !present(path) })
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
	return mapErr("setPIN", dev.SetPIN(pin, ""), func() bool { return !present(path) })
}

// ChangePIN replaces the PIN. A wrong old PIN gives a PINWrongError with
// the tries left.
func ChangePIN(path, oldPIN, newPIN string) error {
	dev, err := deviceForNewPIN(path, newPIN)
	if err != nil {
		return err
	}
	return withRetries(path, mapErr("changePIN", dev.SetPIN(newPIN, oldPIN), func() bool { return !present(path) }))
}

// withRetries fills in the tries left on a wrong-PIN error; a count of 0
// means the wrong PIN just blocked the key.
func withRetries(path string, err error) error {
	pw, ok := err.(*PINWrongError)
	if !ok {
		return err
	}
	dev, derr := libfido2.NewDevice(path)
	if derr != nil {
		return err
	}
	if n, rerr := dev.RetryCount(); rerr == nil {
		pw.RetriesLeft = n
		if n == 0 {
			return ErrPINBlocked
		}
	}
	return pw
}
