package api

import (
	"fmt"
	"net/http"
	"time"
)

// Stable error codes. Clients branch on these, never on messages, and
// messages never carry internal causes or secrets.
const (
	CodeBadRequest           = "badRequest"
	CodeInvalidValue         = "invalidValue"
	CodePayloadTooLarge      = "payloadTooLarge"
	CodeUnsupportedMediaType = "unsupportedMediaType"
	CodeUnauthenticated      = "unauthenticated"
	CodeInvalidToken         = "invalidToken"
	CodeTokenExpired         = "tokenExpired"
	CodeTokenRevoked         = "tokenRevoked"
	CodeWrongTokenKind       = "wrongTokenKind"
	CodeForbidden            = "forbidden"
	CodeNotFound             = "notFound"
	CodeUserNotFound         = "userNotFound"
	CodeAlreadyExists        = "alreadyExists"
	CodeExternalGuest        = "externalGuest"
	CodeImportFailed         = "importFailed"
	CodeInvalidCredentials   = "invalidCredentials"
	CodePassExpired          = "passExpired"
	CodePassNotYetValid      = "passNotYetValid"
	CodePassAlreadyUsed      = "passAlreadyUsed"
	CodeNotInPolicy          = "notInPolicy"
	CodePolicyDisabled       = "policyDisabled"
	CodeTooManyAttempts      = "tooManyAttempts"
	CodeInvalidSession       = "invalidSession"
	CodeSessionExpired       = "sessionExpired"
	CodeStorageFull          = "storageFull"
	CodeUnavailable          = "serviceUnavailable"
	CodeInternal             = "internalError"

	// Entra mode.
	CodeDirectoryUnavailable = "directoryUnavailable"
	CodeDirectoryError       = "directoryError"
	CodeManagedInEntra       = "managedInEntra"
	CodePassNotCheckable     = "passNotCheckable"
	CodePassDeleted          = "passDeleted"
	CodeSelfServiceSetupOff  = "selfServiceSetupOff"
)

// ExternalGuestMessage is Entra's exact wording, which admins search for.
const ExternalGuestMessage = "Temporary Access Pass cannot be added to an external guest user."

// Error is the error body: {"error": {...}}.
type Error struct {
	Status            int        `json:"-"`
	Code              string     `json:"code"`
	Message           string     `json:"message"`
	Target            string     `json:"target,omitempty"`
	StartDateTime     *time.Time `json:"startDateTime,omitempty"`
	RetryAfterSeconds int        `json:"retryAfterSeconds,omitempty"`
	Rows              []RowError `json:"rows,omitempty"`
	RequestID         string     `json:"requestId,omitempty"`
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

// Errf builds an Error.
func Errf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Common errors.
var (
	ErrInvalidCredentials = &Error{Status: http.StatusUnauthorized, Code: CodeInvalidCredentials,
		Message: "That sign-in name and Temporary Access Pass do not match. Check both and try again."}
)
