package api

import "time"

// Notification kinds: what tapd tells a webhook of.
const (
	// NotifyKeyRegistered: a security key was bound to the person's account
	// (NIST SP 800-63B asks that the person be told of a new authenticator).
	NotifyKeyRegistered = "keyRegistered"
	// NotifyMethodRemoved: one of the person's methods was deleted.
	NotifyMethodRemoved = "methodRemoved"
	// NotifyPassUsed: the person's pass opened a kiosk session.
	NotifyPassUsed = "passUsed"
	// NotifyLockout: wrong passes locked the account's pass sign-in (or a
	// kiosk's or an address's).
	NotifyLockout = "lockout"
)

// Notification is the JSON body tapd posts to a webhook. ID is unique per
// event and the same on every retry: receivers drop repeats by it.
type Notification struct {
	ID                string            `json:"id"`
	Type              string            `json:"type"`
	OccurredDateTime  time.Time         `json:"occurredDateTime"`
	UserPrincipalName string            `json:"userPrincipalName"`
	Actor             Actor             `json:"actor"`
	RequestID         string            `json:"requestId"`
	Details           map[string]string `json:"details,omitempty"`
}
