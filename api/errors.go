package api

import (
	"fmt"
	"net/http"
	"time"
)

// Code is a stable error code. Clients branch on codes, never on
// messages, and messages never carry internal causes or secrets.
type Code string

// Stable error codes.
const (
	CodeBadRequest           Code = "badRequest"
	CodeInvalidValue         Code = "invalidValue"
	CodePayloadTooLarge      Code = "payloadTooLarge"
	CodeHeadersTooLarge      Code = "headersTooLarge"
	CodeUnsupportedMediaType Code = "unsupportedMediaType"
	CodeUnauthenticated      Code = "unauthenticated"
	CodeInvalidToken         Code = "invalidToken"
	CodeTokenExpired         Code = "tokenExpired"
	CodeTokenRevoked         Code = "tokenRevoked"
	CodeWrongTokenKind       Code = "wrongTokenKind"
	CodeForbidden            Code = "forbidden"
	CodeNotFound             Code = "notFound"
	CodeMethodNotAllowed     Code = "methodNotAllowed"
	CodeUserNotFound         Code = "userNotFound"
	CodeAlreadyExists        Code = "alreadyExists"
	CodeExternalGuest        Code = "externalGuest"
	CodeImportFailed         Code = "importFailed"
	// CodeTooManyRows is a CSV import past its row limit (413): nothing
	// of it is kept, and it was not read further.
	CodeTooManyRows        Code = "tooManyRows"
	CodeInvalidCredentials Code = "invalidCredentials"
	CodePassExpired        Code = "passExpired"
	CodePassNotYetValid    Code = "passNotYetValid"
	CodePassAlreadyUsed    Code = "passAlreadyUsed"
	CodeNotInPolicy        Code = "notInPolicy"
	CodePolicyDisabled     Code = "policyDisabled"
	CodeTooManyAttempts    Code = "tooManyAttempts"
	CodeInvalidSession     Code = "invalidSession"
	CodeSessionExpired     Code = "sessionExpired"
	CodeStorageFull        Code = "storageFull"
	CodeUnavailable        Code = "serviceUnavailable"
	CodeInternal           Code = "internalError"

	// Registration and methods.
	CodeAlreadyRegistered     Code = "alreadyRegistered"
	CodeChallengeInvalid      Code = "challengeInvalid"
	CodeChallengeExpired      Code = "challengeExpired"
	CodeRegistrationRejected  Code = "registrationRejected"
	CodeAttestationNotTrusted Code = "attestationNotTrusted"
	CodeKeyRestricted         Code = "keyRestricted"
	CodeMethodInUse           Code = "methodInUse"
	CodeAssertionRejected     Code = "assertionRejected"
	// CodeStagingRowRegistered is a staging row that has its key already:
	// nobody is registered twice.
	CodeStagingRowRegistered Code = "stagingRowRegistered"
	// CodeStagingRowBusy is a staging row another registration holds:
	// its creation options were asked for by another admin token and have
	// not expired, or its key is being written to the directory now. The
	// message and retryAfterSeconds say when the hold ends.
	CodeStagingRowBusy Code = "stagingRowBusy"

	// Entra mode.
	CodeDirectoryUnavailable Code = "directoryUnavailable"
	CodeDirectoryError       Code = "directoryError"
	CodeManagedInEntra       Code = "managedInEntra"
	CodePassNotCheckable     Code = "passNotCheckable"
	CodePassDeleted          Code = "passDeleted"
	CodeSelfServiceSetupOff  Code = "selfServiceSetupOff"
	// Entra refuses to delete a phone that is the person's default MFA
	// method, and a mobile phone while an alternate mobile exists
	// (phoneauthenticationmethod-delete.md).
	CodePhoneIsDefaultMethod Code = "phoneIsDefaultMethod"
	CodeMobileHasAlternate   Code = "mobileHasAlternate"
	// The directory's cloud has no key registration API (Entra in a
	// national cloud).
	CodeRegistrationUnavailable Code = "registrationUnavailable"
)

// codeStatus is the HTTP status of each code: a code means one status
// everywhere, so code that builds errors never names a status.
var codeStatus = map[Code]int{
	CodeBadRequest:              http.StatusBadRequest,
	CodeInvalidValue:            http.StatusBadRequest,
	CodePayloadTooLarge:         http.StatusRequestEntityTooLarge,
	CodeHeadersTooLarge:         http.StatusRequestHeaderFieldsTooLarge,
	CodeUnsupportedMediaType:    http.StatusUnsupportedMediaType,
	CodeUnauthenticated:         http.StatusUnauthorized,
	CodeInvalidToken:            http.StatusUnauthorized,
	CodeTokenExpired:            http.StatusUnauthorized,
	CodeTokenRevoked:            http.StatusUnauthorized,
	CodeWrongTokenKind:          http.StatusForbidden,
	CodeForbidden:               http.StatusForbidden,
	CodeNotFound:                http.StatusNotFound,
	CodeMethodNotAllowed:        http.StatusMethodNotAllowed,
	CodeUserNotFound:            http.StatusNotFound,
	CodeAlreadyExists:           http.StatusConflict,
	CodeExternalGuest:           http.StatusBadRequest,
	CodeImportFailed:            http.StatusBadRequest,
	CodeTooManyRows:             http.StatusRequestEntityTooLarge,
	CodeInvalidCredentials:      http.StatusUnauthorized,
	CodePassExpired:             http.StatusForbidden,
	CodePassNotYetValid:         http.StatusForbidden,
	CodePassAlreadyUsed:         http.StatusForbidden,
	CodeNotInPolicy:             http.StatusForbidden,
	CodePolicyDisabled:          http.StatusForbidden,
	CodeTooManyAttempts:         http.StatusTooManyRequests,
	CodeInvalidSession:          http.StatusUnauthorized,
	CodeSessionExpired:          http.StatusUnauthorized,
	CodeStorageFull:             http.StatusInsufficientStorage,
	CodeUnavailable:             http.StatusServiceUnavailable,
	CodeInternal:                http.StatusInternalServerError,
	CodeAlreadyRegistered:       http.StatusConflict,
	CodeChallengeInvalid:        http.StatusBadRequest,
	CodeChallengeExpired:        http.StatusBadRequest,
	CodeRegistrationRejected:    http.StatusBadRequest,
	CodeAttestationNotTrusted:   http.StatusForbidden,
	CodeKeyRestricted:           http.StatusForbidden,
	CodeMethodInUse:             http.StatusConflict,
	CodeAssertionRejected:       http.StatusBadRequest,
	CodeDirectoryUnavailable:    http.StatusServiceUnavailable,
	CodeDirectoryError:          http.StatusBadGateway,
	CodeManagedInEntra:          http.StatusConflict,
	CodePassNotCheckable:        http.StatusForbidden,
	CodePassDeleted:             http.StatusForbidden,
	CodeSelfServiceSetupOff:     http.StatusForbidden,
	CodePhoneIsDefaultMethod:    http.StatusConflict,
	CodeMobileHasAlternate:      http.StatusConflict,
	CodeRegistrationUnavailable: http.StatusForbidden,
	CodeStagingRowRegistered:    http.StatusConflict,
	CodeStagingRowBusy:          http.StatusConflict,
}

// StatusOf is the HTTP status that goes with a code; an unknown code is
// an internal error.
func StatusOf(c Code) int {
	if s, ok := codeStatus[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ExternalGuestMessage is Entra's exact wording, which admins search for.
const ExternalGuestMessage = "Temporary Access Pass cannot be added to an external guest user."

// Error is the error body: {"error": {...}}. It is also how every layer
// of tapd reports a client-safe failure: the code and message go to the
// client, the cause (Unwrap) only to the log.
type Error struct {
	Status            int        `json:"-"`
	Code              Code       `json:"code"`
	Message           string     `json:"message"`
	Target            string     `json:"target,omitempty"`
	StartDateTime     *time.Time `json:"startDateTime,omitempty"`
	RetryAfterSeconds int        `json:"retryAfterSeconds,omitempty"`
	// Rows are an importFailed's first problems (at most 100), and
	// RowsFailed how many there were in all.
	Rows       []RowError `json:"rows,omitempty"`
	RowsFailed int        `json:"rowsFailed,omitempty"`
	RequestID  string     `json:"requestId,omitempty"`

	cause error
}

// ErrorBody is the JSON envelope of Error.
type ErrorBody struct {
	Error *Error `json:"error"`
}

func (e *Error) Error() string {
	if e.Target != "" {
		return fmt.Sprintf("%s (%s): %s", e.Code, e.Target, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap gives the internal cause, if one was attached.
func (e *Error) Unwrap() error { return e.cause }

// Because returns a copy of e that carries cause, for the log and for
// errors.Is; the client never sees it.
func (e *Error) Because(cause error) *Error {
	out := *e
	out.cause = cause
	return &out
}

// E builds an error with the code's status and a client-safe message.
func E(code Code, format string, args ...any) *Error {
	return &Error{Status: StatusOf(code), Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid is a 400 invalidValue naming the field at fault.
func Invalid(field, format string, args ...any) *Error {
	e := E(CodeInvalidValue, format, args...)
	e.Target = field
	return e
}

// NotFound is a 404 notFound.
func NotFound(format string, args ...any) *Error { return E(CodeNotFound, format, args...) }

// Conflict is a 409 with the given code (alreadyExists, methodInUse, ...).
func Conflict(code Code, format string, args ...any) *Error { return E(code, format, args...) }

// Unauthorized is a 401 with the given code (invalidToken, invalidSession, ...).
func Unauthorized(code Code, format string, args ...any) *Error { return E(code, format, args...) }

// RetryAfter returns a copy of e that tells the client when to try again.
func (e *Error) RetryAfter(seconds int) *Error {
	out := *e
	out.RetryAfterSeconds = seconds
	return &out
}

// Common errors.
var (
	ErrInvalidCredentials = E(CodeInvalidCredentials,
		"That sign-in name and Temporary Access Pass do not match. Check both and try again.")
)
