package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
)

// FIDO2Policy is the FIDO2 (passkey) policy, with Graph's names from
// fido2AuthenticationMethodConfiguration. TrustedRootSources is read-only:
// it says what tapd loaded to judge attestation. In Entra mode ManagedBy
// is "entra", the policy is the tenant's and IsSelfServiceRegistrationAllowed
// says whether Entra lets the kiosk register keys at all.
type FIDO2Policy struct {
	IsAttestationEnforced            bool            `json:"isAttestationEnforced"`
	KeyRestrictions                  KeyRestrictions `json:"keyRestrictions"`
	TrustedRootSources               []string        `json:"trustedRootSources,omitempty"`
	IsSelfServiceRegistrationAllowed *bool           `json:"isSelfServiceRegistrationAllowed,omitempty"`
	ManagedBy                        string          `json:"managedBy,omitempty"`
	// PasskeyProfiles, in an Entra tenant that has them, decide instead
	// of the deprecated IsAttestationEnforced and KeyRestrictions (shown
	// all the same): a key must pass one of the profiles the person's
	// groups allow, as IncludeTargets say.
	PasskeyProfiles       []PasskeyProfile `json:"passkeyProfiles,omitempty"`
	DefaultPasskeyProfile string           `json:"defaultPasskeyProfile,omitempty"`
	IncludeTargets        []PasskeyTarget  `json:"includeTargets,omitempty"`
}

// PasskeyProfile is one of Entra's passkey profiles.
type PasskeyProfile struct {
	ID                     string          `json:"id"`
	Name                   string          `json:"name"`
	AttestationEnforcement string          `json:"attestationEnforcement"` // disabled or registrationOnly
	KeyRestrictions        KeyRestrictions `json:"keyRestrictions"`
	PasskeyTypes           []string        `json:"passkeyTypes"` // deviceBound, synced
}

// PasskeyTarget is an include target of the FIDO2 policy with the
// profiles its members may use; none is the default profile.
type PasskeyTarget struct {
	TargetType             string   `json:"targetType"`
	ID                     string   `json:"id"`
	AllowedPasskeyProfiles []string `json:"allowedPasskeyProfiles"`
}

// KeyRestrictions allows or blocks key models by AAGUID.
type KeyRestrictions struct {
	IsEnforced      bool     `json:"isEnforced"`
	EnforcementType string   `json:"enforcementType"` // "allow" or "block"
	AAGUIDs         []string `json:"aaGuids"`
}

// FIDO2PolicyPatch is a partial update; nil fields are left alone.
type FIDO2PolicyPatch struct {
	IsAttestationEnforced *bool            `json:"isAttestationEnforced,omitempty"`
	KeyRestrictions       *KeyRestrictions `json:"keyRestrictions,omitempty"`
}

// CreationOptions is what Graph's fido2Methods/creationOptions returns.
type CreationOptions struct {
	ChallengeTimeoutDateTime time.Time                                   `json:"challengeTimeoutDateTime"`
	PublicKey                protocol.PublicKeyCredentialCreationOptions `json:"publicKey"`
}

// RegisterFIDO2Request is Graph's POST fido2Methods body. KeyModel is
// ours: the key's product name as the kiosk read it, used for the model
// when no metadata names it.
type RegisterFIDO2Request struct {
	DisplayName         string          `json:"displayName"`
	PublicKeyCredential json.RawMessage `json:"publicKeyCredential"`
	KeyModel            string          `json:"keyModel,omitempty"`
}

// FIDO2Method is a registered security key.
type FIDO2Method struct {
	ID               string     `json:"id"`
	DisplayName      string     `json:"displayName"`
	AAGUID           string     `json:"aaGuid"`
	Model            string     `json:"model"`
	AttestationLevel string     `json:"attestationLevel"` // attested or notAttested
	CreatedDateTime  time.Time  `json:"createdDateTime"`
	LastUsedDateTime *time.Time `json:"lastUsedDateTime,omitempty"`
}

// Method types, as Graph's @odata.type values.
const (
	TypeFIDO2  = "#microsoft.graph.fido2AuthenticationMethod"
	TypeTAP    = "#microsoft.graph.temporaryAccessPassAuthenticationMethod"
	typePrefix = "#microsoft.graph."
	typeSuffix = "AuthenticationMethod"
)

// MethodType is Graph's @odata.type for a method kind such as "phone".
func MethodType(kind string) string { return typePrefix + kind + typeSuffix }

// MethodKind is MethodType backwards: the kind ("phone", "fido2") that
// Graph's paths use, or "" for a type of another shape.
func MethodKind(typ string) string {
	k, ok := strings.CutPrefix(typ, typePrefix)
	if k, ok2 := strings.CutSuffix(k, typeSuffix); ok && ok2 && k != "" {
		return k
	}
	return ""
}

// AuthenticationMethod is one entry of a user's methods, in Graph's style:
// Type tells the kind, and only that kind's fields are set.
// CreatedDateTime is absent (the zero time in Go) where the directory does
// not say when the method was added: Entra gives no time for phones,
// email addresses and OATH apps.
type AuthenticationMethod struct {
	Type            string    `json:"type"`
	ID              string    `json:"id"`
	DisplayName     string    `json:"displayName,omitempty"`
	CreatedDateTime time.Time `json:"createdDateTime,omitzero"`
	// fido2
	AAGUID                string     `json:"aaGuid,omitempty"`
	Model                 string     `json:"model,omitempty"`
	AttestationLevel      string     `json:"attestationLevel,omitempty"`
	LastUsedDateTime      *time.Time `json:"lastUsedDateTime,omitempty"`
	RegisteredThisSession bool       `json:"registeredThisSession,omitempty"`
	// temporaryAccessPass
	StartDateTime         *time.Time `json:"startDateTime,omitempty"`
	LifetimeInMinutes     int        `json:"lifetimeInMinutes,omitempty"`
	IsUsableOnce          *bool      `json:"isUsableOnce,omitempty"`
	IsUsable              *bool      `json:"isUsable,omitempty"`
	MethodUsabilityReason string     `json:"methodUsabilityReason,omitempty"`
}

// AssertionOptions starts the key check.
type AssertionOptions struct {
	ChallengeTimeoutDateTime time.Time                                  `json:"challengeTimeoutDateTime"`
	PublicKey                protocol.PublicKeyCredentialRequestOptions `json:"publicKey"`
}

// AssertionRequest finishes the key check.
type AssertionRequest struct {
	PublicKeyCredential json.RawMessage `json:"publicKeyCredential"`
}

// KeyCheck is the result of a successful key check.
type KeyCheck struct {
	ID           string `json:"id"`
	Verified     bool   `json:"verified"`
	UserVerified bool   `json:"userVerified"`
	SignCount    uint32 `json:"signCount"`
}

// More audit actions.
const (
	ActionRegisterFIDO2     = "registerFido2"
	ActionCheckKey          = "checkKey"
	ActionDeleteMethod      = "deleteMethod"
	ActionUpdateFIDO2Policy = "updateFido2Policy"
)

// AuditActions are every action the audit trail records, for clients
// that check a filter before asking.
var AuditActions = []string{ActionSignIn, ActionSignOut, ActionSessionDenied, ActionCreatePass, ActionDeletePass,
	ActionUpdatePolicy, ActionCreateUser, ActionDeleteUser, ActionImportUsers, ActionCreateKiosk, ActionRevokeKiosk,
	ActionCreateToken, ActionRevokeToken, ActionDenied, ActionUnlockUser,
	ActionRegisterFIDO2, ActionCheckKey, ActionDeleteMethod, ActionUpdateFIDO2Policy,
	ActionCreateStagingBatch, ActionUpdateStagingRow, ActionDeleteStagingBatch, ActionRemoveStagingRow, ActionReissueStagingRow,
	ActionInviteStaff, ActionEnrolStaffPasskey, ActionRevokeStaffPasskey, ActionStaffSignIn, ActionStaffSignOut, ActionRequestPass, ActionApprovePass}

// CreationOptions asks for registration options for the signed-in person.
func (c *Client) CreationOptions(ctx context.Context) (CreationOptions, error) {
	var out CreationOptions
	return out, c.json(ctx, http.MethodPost, "/v1/session/fido2Methods/creationOptions", nil, &out)
}

// RegisterFIDO2 sends the key's registration response.
func (c *Client) RegisterFIDO2(ctx context.Context, r RegisterFIDO2Request) (FIDO2Method, error) {
	var out FIDO2Method
	return out, c.json(ctx, http.MethodPost, "/v1/session/fido2Methods", r, &out)
}

// SessionMethods lists the signed-in person's methods, the pass included.
func (c *Client) SessionMethods(ctx context.Context) ([]AuthenticationMethod, error) {
	var out List[AuthenticationMethod]
	return out.Value, c.json(ctx, http.MethodGet, "/v1/session/methods", nil, &out)
}

// DeleteSessionMethod removes one of the signed-in person's methods.
func (c *Client) DeleteSessionMethod(ctx context.Context, id string) error {
	return c.json(ctx, http.MethodDelete, "/v1/session/methods/"+esc(id), nil, nil)
}

// AssertionOptions starts the key check for a registered key.
func (c *Client) AssertionOptions(ctx context.Context, methodID string) (AssertionOptions, error) {
	var out AssertionOptions
	return out, c.json(ctx, http.MethodPost, "/v1/session/fido2Methods/"+esc(methodID)+"/assertionOptions", nil, &out)
}

// CheckKey sends the key's assertion.
func (c *Client) CheckKey(ctx context.Context, methodID string, credential json.RawMessage) (KeyCheck, error) {
	var out KeyCheck
	return out, c.json(ctx, http.MethodPost, "/v1/session/fido2Methods/"+esc(methodID)+"/assertion", AssertionRequest{PublicKeyCredential: credential}, &out)
}

// UserMethods lists a user's methods (admin).
func (c *Client) UserMethods(ctx context.Context, upn string) ([]AuthenticationMethod, error) {
	var out List[AuthenticationMethod]
	return out.Value, c.json(ctx, http.MethodGet, "/v1/users/"+esc(upn)+"/methods", nil, &out)
}

// DeleteUserMethod removes a user's method (admin).
func (c *Client) DeleteUserMethod(ctx context.Context, upn, id string) error {
	return c.json(ctx, http.MethodDelete, "/v1/users/"+esc(upn)+"/methods/"+esc(id), nil, nil)
}

// GetFIDO2Policy reads the FIDO2 policy.
func (c *Client) GetFIDO2Policy(ctx context.Context) (FIDO2Policy, error) {
	var out FIDO2Policy
	return out, c.json(ctx, http.MethodGet, "/v1/policies/fido2", nil, &out)
}

// UpdateFIDO2Policy changes the FIDO2 policy.
func (c *Client) UpdateFIDO2Policy(ctx context.Context, p FIDO2PolicyPatch) (FIDO2Policy, error) {
	var out FIDO2Policy
	return out, c.json(ctx, http.MethodPatch, "/v1/policies/fido2", p, &out)
}
