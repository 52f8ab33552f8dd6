// Package api is tapd's wire contract: the JSON types, the stable error
// codes, and a Go client. Field names follow Microsoft Graph where Graph has
// the concept, so Entra admins recognise them. api/openapi.yaml describes the
// same contract for other languages.
package api

import (
	"time"

	"github.com/tapkiosk/tapkiosk/tap"
)

// Headers.
const (
	// SessionHeader carries a kiosk session token beside the kiosk's own
	// bearer token.
	SessionHeader = "Tap-Session"
	// RequestIDHeader is echoed on every response and recorded in logs and
	// audit entries; a client may send its own as client-request-id.
	RequestIDHeader       = "request-id"
	ClientRequestIDHeader = "client-request-id"
)

// Token prefixes tell the token kinds apart at a glance and let tapd say
// "this is a kiosk token" instead of a bare 401.
const (
	AdminTokenPrefix   = "tapa_"
	KioskTokenPrefix   = "tapk_"
	SessionTokenPrefix = "taps_"
)

// Admin roles, after the Entra roles that govern Temporary Access Passes.
const (
	RoleGlobalAdministrator                   = "globalAdministrator"
	RolePolicyAdministrator                   = "policyAdministrator"
	RoleAuthenticationAdministrator           = "authenticationAdministrator"
	RolePrivilegedAuthenticationAdministrator = "privilegedAuthenticationAdministrator"
	RoleReader                                = "reader"
)

// Roles lists every admin role, most powerful first.
var Roles = []string{
	RoleGlobalAdministrator, RolePrivilegedAuthenticationAdministrator,
	RoleAuthenticationAdministrator, RolePolicyAdministrator, RoleReader,
}

// Policy is the Temporary Access Pass policy (GET/PATCH
// /v1/policies/temporaryAccessPass). ManagedBy is "entra" when tapd reads
// the tenant's policy from Microsoft Graph and its own is not used.
type Policy struct {
	tap.Policy
	ManagedBy string `json:"managedBy,omitempty"`
}

// PolicyPatch is a partial policy update.
type PolicyPatch = tap.PolicyPatch

// Target is a policy include or exclude target.
type Target = tap.Target

// List wraps collections as Graph does.
type List[T any] struct {
	Value []T `json:"value"`
}

// User is a person in the local directory.
type User struct {
	UserPrincipalName string    `json:"userPrincipalName"`
	DisplayName       string    `json:"displayName"`
	UserType          string    `json:"userType"`            // Member or Guest
	GuestKind         string    `json:"guestKind,omitempty"` // internal or external, guests only
	Groups            []string  `json:"groups"`
	AdminRole         string    `json:"adminRole,omitempty"`
	CreatedDateTime   time.Time `json:"createdDateTime,omitzero"`
}

// ImportResult reports a CSV import: Failed lists the first (at most
// 100) rows skipped, FailedCount how many were.
type ImportResult struct {
	Created     int        `json:"created"`
	Failed      []RowError `json:"failed"`
	FailedCount int        `json:"failedCount"`
}

// RowError says which CSV row failed and why. Row 1 is the header.
type RowError struct {
	Row               int    `json:"row"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	Message           string `json:"message"`
}

// CreatePassRequest asks for a new pass; omitted fields take the policy's
// defaults.
type CreatePassRequest struct {
	StartDateTime     *time.Time `json:"startDateTime,omitempty"`
	LifetimeInMinutes *int       `json:"lifetimeInMinutes,omitempty"`
	IsUsableOnce      *bool      `json:"isUsableOnce,omitempty"`
}

// TemporaryAccessPassMethod is a pass, as Graph's
// temporaryAccessPassAuthenticationMethod. TemporaryAccessPass holds the
// value only in the response to the create call, and is null ever after.
type TemporaryAccessPassMethod struct {
	ID                    string    `json:"id"`
	TemporaryAccessPass   *string   `json:"temporaryAccessPass"`
	CreatedDateTime       time.Time `json:"createdDateTime"`
	StartDateTime         time.Time `json:"startDateTime"`
	LifetimeInMinutes     int       `json:"lifetimeInMinutes"`
	IsUsableOnce          bool      `json:"isUsableOnce"`
	IsUsable              bool      `json:"isUsable"`
	MethodUsabilityReason string    `json:"methodUsabilityReason"`
	// ReplacedPassID, in the create response only, is the pass this one
	// replaced: it stopped working, and its kiosk sessions ended (tapd's
	// addition to Graph's shape).
	ReplacedPassID string `json:"replacedPassId,omitempty"`
}

// Kiosk is a registered kiosk. Token is set only in the create response.
type Kiosk struct {
	ID              string     `json:"id"`
	Name            string     `json:"name"`
	CreatedDateTime time.Time  `json:"createdDateTime"`
	RevokedDateTime *time.Time `json:"revokedDateTime,omitempty"`
	Token           string     `json:"token,omitempty"`
}

// CreateKioskRequest registers a kiosk.
type CreateKioskRequest struct {
	Name string `json:"name"`
}

// AdminToken is a named admin credential. Token is set only in the create
// response.
type AdminToken struct {
	ID              string     `json:"id"`
	Name            string     `json:"name"`
	Role            string     `json:"role"`
	CreatedDateTime time.Time  `json:"createdDateTime"`
	ExpiresDateTime *time.Time `json:"expiresDateTime,omitempty"`
	RevokedDateTime *time.Time `json:"revokedDateTime,omitempty"`
	Token           string     `json:"token,omitempty"`
}

// CreateAdminTokenRequest makes a new admin token.
type CreateAdminTokenRequest struct {
	Name            string     `json:"name"`
	Role            string     `json:"role"`
	ExpiresDateTime *time.Time `json:"expiresDateTime,omitempty"`
}

// Actor is who did something: an admin token's name or a kiosk's name.
type Actor struct {
	Type string `json:"type"` // admin, kiosk or system
	Name string `json:"name"`
}

// AuditEntry is one audit record. It never holds a secret.
type AuditEntry struct {
	ID               int64             `json:"id"`
	ActivityDateTime time.Time         `json:"activityDateTime"`
	RequestID        string            `json:"requestId"`
	Actor            Actor             `json:"actor"`
	Action           string            `json:"action"`
	Target           string            `json:"target"`
	Result           string            `json:"result"` // success or failure
	ResultReason     string            `json:"resultReason"`
	Details          map[string]string `json:"details,omitempty"`
	// Repeats counts the same refusals after this one that were folded
	// into it (locked-out answers within one lock), instead of a row each.
	Repeats int `json:"repeats,omitempty"`
}

// Lockout is an account's pass sign-in lock, as an admin's unlock found
// and cleared it.
type Lockout struct {
	UserPrincipalName string     `json:"userPrincipalName"`
	WasLocked         bool       `json:"wasLocked"`
	LockedUntil       *time.Time `json:"lockedUntil,omitempty"`
	// FailedAttempts is how many wrong passes the current round had seen.
	FailedAttempts int `json:"failedAttempts"`
	// LockedBy says who started each lock that was running: the kiosk and
	// the client address of the wrong pass that started it.
	LockedBy []LockCause `json:"lockedBy,omitempty"`
	// RevokedKiosks are the kiosks revoked with the unlock (revokeKiosks).
	RevokedKiosks []string `json:"revokedKiosks,omitempty"`
}

// LockCause is who started a lock. Scope is "kiosk" for the account's
// lock at that kiosk, "account" for its lock at every kiosk.
type LockCause struct {
	Scope         string `json:"scope,omitempty"`
	Kiosk         string `json:"kiosk"`
	KioskID       string `json:"kioskId"`
	ClientAddress string `json:"clientAddress,omitempty"`
}

// AuditQuery filters GET /v1/auditLogs.
type AuditQuery struct {
	User   string
	Action string
	Actor  string
	Result string
	Since  time.Time
	Until  time.Time
	Top    int
	Before int64
}

// SessionRequest signs a person in at a kiosk with a pass.
type SessionRequest struct {
	UserPrincipalName   string `json:"userPrincipalName"`
	TemporaryAccessPass string `json:"temporaryAccessPass"`
}

// Session is a kiosk sign-in. SessionToken is set only when it is opened.
type Session struct {
	SessionToken      string    `json:"sessionToken,omitempty"`
	UserPrincipalName string    `json:"userPrincipalName"`
	DisplayName       string    `json:"displayName"`
	ExpiresDateTime   time.Time `json:"expiresDateTime"`
	HasOtherMethods   bool      `json:"hasOtherMethods"`
}

// Audit actions, stable for filtering.
const (
	ActionSignIn        = "signIn"
	ActionSignOut       = "signOut"
	ActionSessionDenied = "sessionDenied"
	ActionCreatePass    = "createPass"
	ActionDeletePass    = "deletePass"
	ActionUpdatePolicy  = "updatePolicy"
	ActionCreateUser    = "createUser"
	ActionDeleteUser    = "deleteUser"
	ActionImportUsers   = "importUsers"
	ActionCreateKiosk   = "createKiosk"
	ActionRevokeKiosk   = "revokeKiosk"
	ActionCreateToken   = "createAdminToken"
	ActionRevokeToken   = "revokeAdminToken"
	ActionDenied        = "accessDenied"
	ActionUnlockUser    = "unlockUser"
	// The helpdesk console's staff and four-eyes approvals.
	ActionInviteStaff        = "inviteStaff"
	ActionEnrolStaffPasskey  = "enrolStaffPasskey"
	ActionRevokeStaffPasskey = "revokeStaffPasskey"
	ActionStaffSignIn        = "staffSignIn"
	ActionStaffSignOut       = "staffSignOut"
	ActionRequestPass        = "requestPass"
	ActionApprovePass        = "approvePass"
)

// StaffInvitation is a new console staff member's one-time link (POST
// /staff): the token is in the answer once and enrols the first passkey
// before ExpiresDateTime.
type StaffInvitation struct {
	Name            string    `json:"name"`
	Role            string    `json:"role"`
	InvitationURL   string    `json:"invitationUrl"`
	ExpiresDateTime time.Time `json:"expiresDateTime"`
}

// CreateStaffRequest is POST /staff.
type CreateStaffRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
}
