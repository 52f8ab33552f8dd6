package fido

import (
	"errors"
	"fmt"
	"time"

	libfido2 "github.com/keys-pub/go-libfido2"
)

// Errors the kiosk must explain. Each has a message fit for the person at
// the kiosk (see Message); none carries a raw libfido2 code to the screen.
var (
	ErrNoKey          = errors.New("no security key is plugged in")
	ErrSeveralKeys    = errors.New("more than one security key is plugged in")
	ErrPINRequired    = errors.New("the key has a PIN and it is needed")
	ErrPINNotSet      = errors.New("the key needs a PIN first")
	ErrPINBlocked     = errors.New("the PIN is blocked")
	ErrPINAuthBlocked = errors.New("too many wrong PINs since the key was plugged in")
	// ErrPINChangeRequired: the PIN is right, but the key insists it be
	// changed (getInfo forcePINChange) before it is good for anything
	// else; ChangePIN with it as the old PIN clears the demand.
	ErrPINChangeRequired = errors.New("the key wants its PIN changed before it can be used")
	ErrTouchTimeout      = errors.New("the key was not touched in time")
	ErrKeyRemoved        = errors.New("the key was removed")
	ErrCancelled         = errors.New("cancelled")
	ErrKeyFull           = errors.New("the key has no room for another passkey")
	ErrOperationDenied   = errors.New("the key refused")
	ErrAlreadyRegistered = errors.New("this key is already registered for this account")
	// ErrNotRegisteredOnKey: the key holds no passkey the check asked for.
	ErrNotRegisteredOnKey = errors.New("the key does not hold that passkey")
	// ErrResetNotAllowed: the key takes authenticatorReset only in its
	// first seconds after power-up (CTAP2_ERR_NOT_ALLOWED; 10 s in CTAP
	// 2.1, 5 s on some YubiKeys). The person must unplug the key, plug it
	// back in, and the reset be sent (and touched) at once.
	ErrResetNotAllowed = errors.New("the key allows a reset only just after it is plugged in: unplug it, plug it back in and reset within 10 seconds")
)

// MinPINLengthError is a minimum PIN length the key cannot take: lower
// than the one it has (only a reset lowers it, CTAP 2.1 §6.11.4), or
// longer than any PIN can be (MaxPINBytes).
type MinPINLengthError struct{ Asked, Current int }

func (e *MinPINLengthError) Error() string {
	return fmt.Sprintf("minimum PIN length %d refused (the key's is %d; it only goes up, at most %d)", e.Asked, e.Current, MaxPINBytes)
}

// PINAuthBlockedError is ErrPINAuthBlocked with the tries the key has
// left: the wrong PIN that caused the block cost a try like the others
// (CTAP 2.1 §6.5.5.5 decrements pinRetries before it counts the
// mismatches in a row); only a PIN sent once blocked costs none.
// RetriesLeft is -1 when the key would not say.
type PINAuthBlockedError struct{ RetriesLeft int }

func (e *PINAuthBlockedError) Error() string { return ErrPINAuthBlocked.Error() }

// Is makes it ErrPINAuthBlocked for errors.Is.
func (e *PINAuthBlockedError) Is(target error) bool { return target == ErrPINAuthBlocked }

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
	// ReasonNoCredProtect: the relying party enforces a credential
	// protection policy and the key cannot keep one.
	ReasonNoCredProtect = "noCredProtect"
	// ReasonNoAuthnrCfg: the key has no authenticatorConfig (getInfo
	// option authnrCfg), as CTAP 2.0 keys lack it: no minimum PIN length,
	// forced PIN change or alwaysUv can be set on it.
	ReasonNoAuthnrCfg = "noAuthnrCfg"
	// ReasonNoSetMinPINLength: authenticatorConfig without setMinPINLength
	// (which also carries forceChangePin).
	ReasonNoSetMinPINLength = "noSetMinPINLength"
	// ReasonNoAlwaysUV: authenticatorConfig without the alwaysUv feature.
	ReasonNoAlwaysUV = "noAlwaysUv"
	// ReasonNoBio: the key has no fingerprint sensor (no bio enrollment).
	ReasonNoBio = "noBio"
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

// Explain names what a person should be told about err: a stable reason
// (the kiosk's catalogue holds the sentence for each, in each language)
// and the values that sentence needs (tries left, a minimum length), if any.
// No reason carries a raw libfido2 code; anything unknown is ReasonOther.
func Explain(err error) (reason string, args []any) {
	var pw *PINWrongError
	var pp *PINPolicyError
	var uk *UnsupportedKeyError
	var ml *MinPINLengthError
	switch {
	case errors.As(err, &ml):
		return "minPINLength", []any{ml.Current}
	case errors.As(err, &pw):
		if pw.RetriesLeft <= 3 {
			return "pinWrongLow", []any{pw.RetriesLeft}
		}
		return "pinWrong", []any{pw.RetriesLeft}
	case errors.As(err, &pp):
		switch pp.Rule {
		case RuleTooShort:
			return "pinShort", []any{pp.MinLen}
		case RuleTooLong:
			return "pinLong", nil
		case RuleNUL, RuleNotUTF8:
			return "pinChar", nil
		}
		return "pinPolicy", nil
	case errors.As(err, &uk):
		return uk.Reason, nil
	}
	for _, r := range []struct {
		err    error
		reason string
	}{
		{ErrNoKey, "noKey"}, {ErrSeveralKeys, "severalKeys"}, {ErrPINRequired, "pinRequired"}, {ErrPINNotSet, "pinNotSet"},
		{ErrPINBlocked, "pinBlocked"}, {ErrPINAuthBlocked, "pinAuthBlocked"}, {ErrPINChangeRequired, "pinChangeRequired"}, {ErrTouchTimeout, "timeout"},
		{ErrKeyRemoved, "removed"}, {ErrCancelled, "cancelled"}, {ErrKeyFull, "full"}, {ErrOperationDenied, "denied"},
		{ErrAlreadyRegistered, "already"}, {ErrNotRegisteredOnKey, "notThisKey"}, {ErrResetNotAllowed, "resetNotAllowed"},
	} {
		if errors.Is(err, r.err) {
			return r.reason, nil
		}
	}
	return ReasonOther, nil
}

// ReasonOther is Explain's answer for a failure it has no better words for.
const ReasonOther = "other"

// libfido2 codes go-libfido2 leaves unnamed.
const (
	codeCredentialExcluded = 0x19
	codeOperationDenied    = 0x27
	codeKeyStoreFull       = 0x28
	codeUserActionTimeout  = 0x2f
	codePINBlocked         = 0x32
)

// mapErr turns a go-libfido2 error into one of ours. path, when set, is
// looked up after a failure no CTAP status explains, to tell a pulled key
// from a broken one (see removed).
func mapErr(op string, err error, path string) error {
	if err == nil {
		return nil
	}
	var code libfido2.Error
	var uk *UnsupportedKeyError
	switch {
	case errors.As(err, &uk):
		return uk // already ours (the cgo wrappers' feature checks)
	case op == opReset && errors.Is(err, libfido2.ErrNotAllowed):
		return ErrResetNotAllowed
	case op == opBio && errors.Is(err, libfido2.ErrInvalidCommand):
		return &UnsupportedKeyError{Reason: ReasonNoBio}
	case isConfigOp(op) && errors.Is(err, libfido2.ErrInvalidCommand):
		return &UnsupportedKeyError{Reason: ReasonNoAuthnrCfg}
	case errors.Is(err, libfido2.ErrPinInvalid):
		return &PINWrongError{RetriesLeft: -1} // caller fills in retries
	case errors.Is(err, libfido2.ErrPinAuthBlocked):
		return &PINAuthBlockedError{RetriesLeft: -1} // caller fills in retries
	case errors.Is(err, libfido2.ErrPinRequired):
		return ErrPINRequired
	case errors.Is(err, libfido2.ErrPinNotSet):
		return ErrPINNotSet
	case errors.Is(err, libfido2.ErrPinPolicyViolation):
		if op == opSetPIN || op == opChangePIN {
			return &PINPolicyError{Rule: RuleKeyPolicy} // the new PIN broke a rule
		}
		// Only the PIN token step can say this when no PIN is being set:
		// the key has forcePINChange (CTAP 2.1 §6.5.5.7).
		return ErrPINChangeRequired
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
	if path != "" && removed(path, transportErr(err)) {
		return ErrKeyRemoved
	}
	return &KeyError{Op: op, Code: codeOf(err), err: err}
}

// Operations whose PIN policy violation is about a new PIN.
const (
	opSetPIN    = "setPIN"
	opChangePIN = "changePIN"
)

// Operations mapErr treats apart: reset's "not allowed" means "too long
// since power-up", and a config call's "invalid command" means the key
// has no authenticatorConfig.
const (
	opReset           = "reset"
	opSetMinPINLength = "setMinPINLength"
	opForcePINChange  = "forcePINChange"
	opToggleAlwaysUV  = "toggleAlwaysUv"
)

func isConfigOp(op string) bool {
	return op == opSetMinPINLength || op == opForcePINChange || op == opToggleAlwaysUV
}

// transportErr is a failure to talk to the key at all (libfido2's
// FIDO_ERR_TX, FIDO_ERR_RX and replies that are not CBOR), as a key pulled
// mid-command gives.
func transportErr(err error) bool {
	for _, e := range []error{libfido2.ErrTX, libfido2.ErrRX, libfido2.ErrRXNotCBOR, libfido2.ErrRXInvalidCBOR} {
		if errors.Is(err, e) {
			return true
		}
	}
	var c libfido2.Error
	return errors.As(err, &c) && (c.Code == -1 || c.Code == -2)
}

// Removal recheck: on Linux a pulled key's reads fail at once but its
// hidraw node leaves the device list a little later, so after a transport
// error the list is looked at a few times, for about removalWait, before
// the key is called present.
var (
	removalWait = 200 * time.Millisecond
	removalPoll = 40 * time.Millisecond
)

// removed reports whether the key at path has left the device list; after
// a transport error it keeps looking for removalWait.
func removed(path string, transport bool) bool {
	deadline := time.Now().Add(removalWait)
	for {
		if !present(path) {
			return true
		}
		if !transport || time.Now().After(deadline) {
			return false
		}
		time.Sleep(removalPoll)
	}
}

// keyErr maps a failed call on the key at path, with the tries left on a
// wrong PIN.
func keyErr(op, path string, err error) error {
	return withRetries(path, mapErr(op, err, path))
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
