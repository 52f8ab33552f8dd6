package fido

import (
	"errors"
	"fmt"

	libfido2 "github.com/keys-pub/go-libfido2"
)

// Errors the kiosk must explain. Each has a message fit for the person at
// the kiosk (see Message); none carries a raw libfido2 code to the screen.
var (
	ErrNoKey             = errors.New("no security key is plugged in")
	ErrSeveralKeys       = errors.New("more than one security key is plugged in")
	ErrPINRequired       = errors.New("the key has a PIN and it is needed")
	ErrPINNotSet         = errors.New("the key needs a PIN first")
	ErrPINBlocked        = errors.New("the PIN is blocked")
	ErrPINAuthBlocked    = errors.New("too many wrong PINs since the key was plugged in")
	ErrTouchTimeout      = errors.New("the key was not touched in time")
	ErrKeyRemoved        = errors.New("the key was removed")
	ErrCancelled         = errors.New("cancelled")
	ErrKeyFull           = errors.New("the key has no room for another passkey")
	ErrOperationDenied   = errors.New("the key refused")
	ErrAlreadyRegistered = errors.New("this key is already registered for this account")
	// ErrNotRegisteredOnKey: the key holds no passkey the check asked for.
	ErrNotRegisteredOnKey = errors.New("the key does not hold that passkey")
)

// PINWrongError is a wrong PIN; RetriesLeft counts down to a blocked PIN.
type PINWrongError struct{ RetriesLeft int }

func (e *PINWrongError) Error() string {
	return fmt.Sprintf("wrong PIN (%d tries left)", e.RetriesLeft)
}

// PIN rules a candidate can break.
const (
	RuleTooShort  = "tooShort"
	RuleTooLong   = "tooLong"
	RuleNUL       = "nul"
	RuleNotUTF8   = "notUTF8"
	RuleKeyPolicy = "keyPolicy" // the key refused it for a rule of its own
)

// PINPolicyError says which PIN rule a candidate breaks.
type PINPolicyError struct {
	Rule   string
	MinLen int
}

func (e *PINPolicyError) Error() string { return "PIN rule: " + e.Rule }

// Reasons a key cannot be used for registration.
const (
	ReasonU2FOnly        = "u2fOnly"
	ReasonNoResidentKeys = "noResidentKeys"
)

// UnsupportedKeyError is a key that cannot hold a passkey.
type UnsupportedKeyError struct{ Reason string }

func (e *UnsupportedKeyError) Error() string { return "unsupported key: " + e.Reason }

// KeyError is any other failure; Code is libfido2's, for logs only.
type KeyError struct {
	Op   string
	Code int
	err  error
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("%s: %v (libfido2 code %d)", e.Op, e.err, e.Code)
}
func (e *KeyError) Unwrap() error { return e.err }

// Message is what the kiosk shows a person for err.
func Message(err error) string {
	var pw *PINWrongError
	var pp *PINPolicyError
	var uk *UnsupportedKeyError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &pw):
		switch {
		case pw.RetriesLeft <= 0:
			return "That PIN is wrong, and the PIN is now blocked."
		case pw.RetriesLeft <= 3:
			return fmt.Sprintf("That PIN is wrong. Careful: %d tries left before the key locks its PIN.", pw.RetriesLeft)
		}
		return fmt.Sprintf("That PIN is wrong. %d tries left.", pw.RetriesLeft)
	case errors.As(err, &pp):
		switch pp.Rule {
		case RuleTooShort:
			return fmt.Sprintf("The PIN is too short: use at least %d characters.", pp.MinLen)
		case RuleTooLong:
			return "The PIN is too long: use at most 63 characters (fewer with accents or symbols)."
		case RuleNUL, RuleNotUTF8:
			return "The PIN has a character the key cannot store. Use letters, digits or symbols."
		}
		return "The key does not accept that PIN. Try a longer one, or one that is less simple."
	case errors.As(err, &uk):
		if uk.Reason == ReasonU2FOnly {
			return "This is an older security key (U2F only) that cannot hold a passkey. Please use a FIDO2 key."
		}
		return "This security key cannot store passkeys on the key itself. Please use another FIDO2 key."
	case errors.Is(err, ErrNoKey):
		return "Insert your security key."
	case errors.Is(err, ErrSeveralKeys):
		return "More than one security key is plugged in. Leave only one."
	case errors.Is(err, ErrPINRequired):
		return "Enter the PIN of your security key."
	case errors.Is(err, ErrPINNotSet):
		return "This key has no PIN yet. Create one first."
	case errors.Is(err, ErrPINBlocked):
		return "The key's PIN is blocked after too many wrong tries. Only a reset can fix it, and a reset erases everything on the key. Ask IT for help."
	case errors.Is(err, ErrPINAuthBlocked):
		return "Too many wrong PINs. Unplug the key, plug it back in, and try again."
	case errors.Is(err, ErrTouchTimeout):
		return "The key was not touched in time. Try again, and touch the key when it blinks."
	case errors.Is(err, ErrKeyRemoved):
		return "The key was removed. Plug it back in to try again."
	case errors.Is(err, ErrCancelled):
		return "Cancelled."
	case errors.Is(err, ErrKeyFull):
		return "This key is full: it has no room for another passkey. Remove old ones or use another key."
	case errors.Is(err, ErrOperationDenied):
		return "The key refused. Try again, and touch it briefly when it blinks."
	case errors.Is(err, ErrAlreadyRegistered):
		return "This key is already registered to your account. You can use it as it is."
	case errors.Is(err, ErrNotRegisteredOnKey):
		return "This is not the key you just registered. Plug in that key and try again."
	}
	return "The security key could not do that. Unplug it, plug it back in, and try again."
}

// libfido2 codes go-libfido2 leaves unnamed.
const (
	codeCredentialExcluded = 0x19
	codeOperationDenied    = 0x27
	codeKeyStoreFull       = 0x28
	codeUserActionTimeout  = 0x2f
	codePINBlocked         = 0x32
)

// mapErr turns a go-libfido2 error into one of ours. gone reports whether
// the key has left the system, to tell a pulled key from a broken one.
func mapErr(op string, err error, gone func() bool) error {
	if err == nil {
		return nil
	}
	var code libfido2.Error
	switch {
	case errors.Is(err, libfido2.ErrPinInvalid):
		return &PINWrongError{RetriesLeft: -1} // caller fills in retries
	case errors.Is(err, libfido2.ErrPinAuthBlocked):
		return ErrPINAuthBlocked
	case errors.Is(err, libfido2.ErrPinRequired):
		return ErrPINRequired
	case errors.Is(err, libfido2.ErrPinNotSet):
		return ErrPINNotSet
	case errors.Is(err, libfido2.ErrPinPolicyViolation):
		return &PINPolicyError{Rule: RuleKeyPolicy}
	case errors.Is(err, libfido2.ErrActionTimeout):
		return ErrTouchTimeout
	case errors.Is(err, libfido2.ErrKeepaliveCancel):
		return ErrCancelled
	case errors.Is(err, libfido2.ErrOperationDenied):
		return ErrOperationDenied
	case errors.Is(err, libfido2.ErrNotFIDO2):
		return &UnsupportedKeyError{Reason: ReasonU2FOnly}
	case errors.Is(err, libfido2.ErrUnsupportedOption):
		return &UnsupportedKeyError{Reason: ReasonNoResidentKeys}
	case errors.Is(err, libfido2.ErrInvalidOption):
		return ErrPINNotSet // UV asked of a key with no PIN and no built-in UV
	case errors.As(err, &code):
		switch code.Code {
		case codeCredentialExcluded:
			return ErrAlreadyRegistered
		case codeOperationDenied:
			return ErrOperationDenied
		case codeKeyStoreFull:
			return ErrKeyFull
		case codeUserActionTimeout:
			return ErrTouchTimeout
		case codePINBlocked:
			return ErrPINBlocked
		}
	}
	if gone != nil && gone() {
		return ErrKeyRemoved
	}
	return &KeyError{Op: op, Code: codeOf(err), err: err}
}

func codeOf(err error) int {
	var c libfido2.Error
	if errors.As(err, &c) {
		return c.Code
	}
	for code, e := range map[int]error{-1: libfido2.ErrTX, -2: libfido2.ErrRX, -7: libfido2.ErrInvalidArgument, 0x7f: libfido2.ErrOther, 0x3b: libfido2.ErrUPRequired, 0x01: libfido2.ErrInvalidCommand} {
		if errors.Is(err, e) {
			return code
		}
	}
	return 0
}
