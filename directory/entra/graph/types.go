package graph

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
)

// User is the part of Graph's user tapd reads.
type User struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
	UserType          string `json:"userType"` // Member or Guest
	// ExternalUserState is set for B2B guests invited from outside; an
	// internal guest (a Guest account of this tenant) has none.
	ExternalUserState string `json:"externalUserState,omitempty"`
}

// External reports whether the user is an external guest, who cannot get
// a Temporary Access Pass.
func (u User) External() bool { return u.UserType == "Guest" && u.ExternalUserState != "" }

// Group is a group the user belongs to.
type Group struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

type list[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"@odata.nextLink,omitempty"`
}

// Graph's own shapes. They are not tapd's API types on purpose: a change
// to tapd's API must never change what is sent to Microsoft.
type (
	// TAPMethod is Graph's temporaryAccessPassAuthenticationMethod.
	// TemporaryAccessPass is set only in the answer to its creation.
	TAPMethod struct {
		ID                    string    `json:"id"`
		TemporaryAccessPass   *string   `json:"temporaryAccessPass"`
		CreatedDateTime       time.Time `json:"createdDateTime"`
		StartDateTime         time.Time `json:"startDateTime"`
		LifetimeInMinutes     int       `json:"lifetimeInMinutes"`
		IsUsableOnce          bool      `json:"isUsableOnce"`
		IsUsable              bool      `json:"isUsable"`
		MethodUsabilityReason string    `json:"methodUsabilityReason"`
	}
	// CreateTAP is the body of POST temporaryAccessPassMethods; a field
	// left nil is Entra's to choose.
	CreateTAP struct {
		StartDateTime     *time.Time `json:"startDateTime,omitempty"`
		LifetimeInMinutes *int       `json:"lifetimeInMinutes,omitempty"`
		IsUsableOnce      *bool      `json:"isUsableOnce,omitempty"`
	}
	// FIDO2Method is Graph's fido2AuthenticationMethod.
	FIDO2Method struct {
		ID               string    `json:"id"`
		DisplayName      string    `json:"displayName"`
		AAGUID           string    `json:"aaGuid"`
		Model            string    `json:"model"`
		AttestationLevel string    `json:"attestationLevel"`
		CreatedDateTime  time.Time `json:"createdDateTime"`
	}
	// CreationOptions is fido2Methods/creationOptions' answer
	// (webauthnCredentialCreationOptions).
	CreationOptions struct {
		ChallengeTimeoutDateTime time.Time                                   `json:"challengeTimeoutDateTime"`
		PublicKey                protocol.PublicKeyCredentialCreationOptions `json:"publicKey"`
	}
)

// Method is one entry of GET /authentication/methods: @odata.type names
// the kind, and each kind has its own fields.
//
// Not every kind has a name or a creation time: emailAuthenticationMethod
// is {id, emailAddress}, phoneAuthenticationMethod {id, phoneNumber,
// phoneType, smsSignInState}, softwareOathAuthenticationMethod {id,
// secretKey}. A time Graph does not give stays zero.
type Method struct {
	Type            string    `json:"@odata.type"`
	ID              string    `json:"id"`
	DisplayName     string    `json:"displayName,omitempty"`
	CreatedDateTime time.Time `json:"createdDateTime,omitzero"`
	// CreationDateTime is how authentication-list-methods.md's example
	// spells a key's creation time; read in case Graph does too.
	CreationDateTime time.Time `json:"creationDateTime,omitzero"`
	// phoneAuthenticationMethod: phoneType is mobile, alternateMobile or
	// office.
	PhoneNumber string `json:"phoneNumber,omitempty"`
	PhoneType   string `json:"phoneType,omitempty"`
	// emailAuthenticationMethod
	EmailAddress string `json:"emailAddress,omitempty"`
	// fido2AuthenticationMethod
	AAGUID           string `json:"aaGuid,omitempty"`
	Model            string `json:"model,omitempty"`
	AttestationLevel string `json:"attestationLevel,omitempty"`
	// temporaryAccessPassAuthenticationMethod
	StartDateTime         time.Time `json:"startDateTime,omitempty"`
	LifetimeInMinutes     int       `json:"lifetimeInMinutes,omitempty"`
	IsUsableOnce          bool      `json:"isUsableOnce,omitempty"`
	IsUsable              bool      `json:"isUsable,omitempty"`
	MethodUsabilityReason string    `json:"methodUsabilityReason,omitempty"`
}

// Kind is the method's kind as Graph's paths name it (fido2,
// microsoftAuthenticator, phone, ...): @odata.type is
// #microsoft.graph.{kind}AuthenticationMethod. Another shape gives "".
func (m Method) Kind() string {
	k, ok := strings.CutPrefix(m.Type, "#microsoft.graph.")
	if k, ok2 := strings.CutSuffix(k, "AuthenticationMethod"); ok && ok2 && k != "" {
		return k
	}
	return ""
}

// StripAnnotations removes OData annotations ("@odata.type",
// "x@odata.context", any member whose name holds "@") from a JSON
// document, at every depth. WebAuthn names never hold "@". A document that
// is not JSON comes back unchanged, for the decoder to refuse.
func StripAnnotations(doc []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return doc
	}
	var strip func(any) any
	strip = func(v any) any {
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				if strings.Contains(k, "@") {
					delete(t, k)
					continue
				}
				t[k] = strip(x)
			}
		case []any:
			for i, x := range t {
				t[i] = strip(x)
			}
		}
		return v
	}
	out, err := json.Marshal(strip(v))
	if err != nil {
		return doc
	}
	return out
}

// RegisterFIDO2 is the body of POST fido2Methods.
type RegisterFIDO2 struct {
	DisplayName         string          `json:"displayName"`
	PublicKeyCredential json.RawMessage `json:"publicKeyCredential"`
}

// GetUser looks a user up by UPN or id.
func (c *Client) GetUser(ctx context.Context, upn string) (User, Result, error) {
	var u User
	r, err := c.do(ctx, http.MethodGet, "/users/"+esc(upn)+"?$select=id,userPrincipalName,displayName,userType,externalUserState", nil, &u)
	return u, r, err
}

// maxGroupPages bounds how many pages of groups tapd follows (999 each).
const maxGroupPages = 20

// eventual is the header Graph's advanced queries need.
var eventual = http.Header{"Consistencylevel": {"eventual"}}

// Groups lists the groups the user belongs to, directly or not, following
// @odata.nextLink: a user in many groups must not drop out of a policy
// target that happens to sit on a later page.
//
// The path is an OData cast (microsoft.graph.group), which
// user-list-transitivememberof.md and the advanced-queries page say needs
// "ConsistencyLevel: eventual" and $count=true. Graph then reads an index
// that may lag recent changes by a little: a person added to the policy's
// group a moment ago may not be in it yet (the README says so).
func (c *Client) Groups(ctx context.Context, userID string) ([]Group, Result, error) {
	return pages[Group](ctx, c, "/users/"+esc(userID)+"/transitiveMemberOf/microsoft.graph.group?$count=true&$select=id,displayName&$top=999",
		eventual, maxGroupPages, "group list")
}

// pages reads a list and every page behind its @odata.nextLink, at most
// maxPages of them. A next link that leaves BaseURL is not followed: the
// bearer token goes only to Graph.
func pages[T any](ctx context.Context, c *Client, path string, header http.Header, maxPages int, what string) ([]T, Result, error) {
	var out []T
	for page := 1; ; page++ {
		var l list[T]
		r, err := c.doWith(ctx, http.MethodGet, path, header, nil, &l)
		if err != nil {
			return nil, r, err
		}
		out = append(out, l.Value...)
		if l.NextLink == "" {
			return out, r, nil
		}
		base := strings.TrimRight(c.BaseURL, "/")
		if !strings.HasPrefix(l.NextLink, base+"/") || page >= maxPages {
			return nil, r, fmt.Errorf("graph: cannot follow the %s's next page (%d pages read)", what, page)
		}
		path = strings.TrimPrefix(l.NextLink, base)
	}
}

// GetGroup reads a group by object id (group-get.md).
func (c *Client) GetGroup(ctx context.Context, id string) (Group, Result, error) {
	var g Group
	r, err := c.do(ctx, http.MethodGet, "/groups/"+esc(id)+"?$select=id,displayName", nil, &g)
	return g, r, err
}

// GroupsNamed lists the groups whose display name is name (group-list.md:
// displayName supports $filter eq without advanced query parameters).
// Display names are not unique in Entra, so there may be several.
func (c *Client) GroupsNamed(ctx context.Context, name string) ([]Group, Result, error) {
	filter := "displayName eq '" + strings.ReplaceAll(name, "'", "''") + "'"
	return pages[Group](ctx, c, "/groups?$filter="+strings.ReplaceAll(url.QueryEscape(filter), "+", "%20")+"&$select=id,displayName&$top=999", nil, 1, "group search")
}

// maxMemberPages bounds how many pages of a group's members tapd reads
// (999 each): more than a staging batch holds.
const maxMemberPages = 10

// GroupUsers lists the users in the group, directly or through nested
// groups, following @odata.nextLink (group-list-transitivemembers.md).
// The OData cast to microsoft.graph.user keeps devices, contacts and
// service principals out and, like every cast there, needs
// "ConsistencyLevel: eventual" and $count=true; the index it reads may lag
// a membership change by a little.
func (c *Client) GroupUsers(ctx context.Context, groupID string) ([]User, Result, error) {
	return pages[User](ctx, c, "/groups/"+esc(groupID)+"/transitiveMembers/microsoft.graph.user?$count=true"+
		"&$select=id,userPrincipalName,displayName,userType,externalUserState&$top=999", eventual, maxMemberPages, "group member list")
}

// AnyGroup returns the id of one group of the tenant (GET /groups?$top=1),
// or "" when it has none: a call group-list.md allows with
// GroupMember.Read.All (or broader), and User.Read.All does not.
func (c *Client) AnyGroup(ctx context.Context) (string, Result, error) {
	var l list[Group]
	r, err := c.do(ctx, http.MethodGet, "/groups?$top=1&$select=id", nil, &l)
	if err != nil || len(l.Value) == 0 {
		return "", r, err
	}
	return l.Value[0].ID, r, nil
}

// AnyUser returns the id of one user of the tenant (GET /users?$top=1), or
// "" when it has none,
// the cheapest call that proves User.Read.All and gives the start-up check
// someone to ask about.
func (c *Client) AnyUser(ctx context.Context) (string, Result, error) {
	var l list[User]
	r, err := c.do(ctx, http.MethodGet, "/users?$top=1&$select=id", nil, &l)
	if err != nil || len(l.Value) == 0 {
		return "", r, err // a tenant with nobody in it: "" and no error
	}
	return l.Value[0].ID, r, nil
}

// ListFIDO2 lists the user's security keys (GET fido2Methods), which
// needs a passkey read permission.
func (c *Client) ListFIDO2(ctx context.Context, userID string) ([]FIDO2Method, Result, error) {
	var l list[FIDO2Method]
	r, err := c.do(ctx, http.MethodGet, "/users/"+esc(userID)+"/authentication/fido2Methods", nil, &l)
	return l.Value, r, err
}

// CreateTAP creates a Temporary Access Pass; the value is in the answer, once.
func (c *Client) CreateTAP(ctx context.Context, userID string, req CreateTAP) (TAPMethod, Result, error) {
	var m TAPMethod
	r, err := c.do(ctx, http.MethodPost, "/users/"+esc(userID)+"/authentication/temporaryAccessPassMethods", req, &m)
	return m, r, err
}

// ListTAP lists the user's pass (zero or one).
func (c *Client) ListTAP(ctx context.Context, userID string) ([]TAPMethod, Result, error) {
	var l list[TAPMethod]
	r, err := c.do(ctx, http.MethodGet, "/users/"+esc(userID)+"/authentication/temporaryAccessPassMethods", nil, &l)
	return l.Value, r, err
}

// Methods lists all the user's authentication methods.
func (c *Client) Methods(ctx context.Context, userID string) ([]Method, Result, error) {
	var l list[Method]
	r, err := c.do(ctx, http.MethodGet, "/users/"+esc(userID)+"/authentication/methods", nil, &l)
	return l.Value, r, err
}

// DeleteMethod deletes one method by its kind (fido2, phone,
// temporaryAccessPass, ...) and id.
func (c *Client) DeleteMethod(ctx context.Context, userID, kind, id string) (Result, error) {
	return c.do(ctx, http.MethodDelete, "/users/"+esc(userID)+"/authentication/"+kind+"Methods/"+esc(id), nil, nil)
}

// CreationOptions fetches FIDO2 creation options for the user with that
// object id (the v1.0 page documents /users/{id} only, not a UPN); fetch them right before
// the touch, as the challenge lives five minutes. Graph sends the user
// handle as unpadded base64url text; it comes back here as bytes
// (protocol.URLEncodedBase64), like every other binary field.
//
// Graph annotates every nested object with @odata.type
// (fido2authenticationmethod-creationoptions.md's example), extensions
// included. Annotations are OData's, not WebAuthn's, so they are taken out
// before the options are read: left in, the extensions' @odata.type would
// reach the kiosk as if it were an extension.
func (c *Client) CreationOptions(ctx context.Context, userID string) (CreationOptions, Result, error) {
	var o CreationOptions
	var body json.RawMessage
	r, err := c.do(ctx, http.MethodGet, "/users/"+esc(userID)+"/authentication/fido2Methods/creationOptions", nil, &body)
	if err != nil {
		return o, r, err
	}
	if err := json.Unmarshal(StripAnnotations(body), &o); err != nil {
		return o, r, fmt.Errorf("graph sent malformed creation options (request-id %s): %w", r.RequestID, err)
	}
	id, _ := o.PublicKey.User.ID.(string)
	handle, derr := base64.RawURLEncoding.DecodeString(strings.TrimRight(id, "="))
	if derr != nil || len(handle) == 0 || o.PublicKey.RelyingParty.ID == "" || len(o.PublicKey.Challenge) == 0 {
		return o, r, fmt.Errorf("graph sent creation options without a usable rp id, challenge or base64url user id (request-id %s)", r.RequestID)
	}
	o.PublicKey.User.ID = protocol.URLEncodedBase64(handle)
	return o, r, nil
}

// RegisterFIDO2 sends the key's registration response to Entra, for the
// user with that object id (authentication-post-fido2methods.md, v1.0,
// documents /users/{id} only), in
// exactly the documented shape: {id, response{clientDataJSON,
// attestationObject}} in unpadded base64url. Graph refuses fields it does
// not know, so what a WebAuthn client adds (rawId, type, extensions) is
// left out.
func (c *Client) RegisterFIDO2(ctx context.Context, userID string, req RegisterFIDO2) (FIDO2Method, Result, error) {
	var cred struct {
		ID       string `json:"id"`
		Response struct {
			ClientDataJSON    string `json:"clientDataJSON"`
			AttestationObject string `json:"attestationObject"`
		} `json:"response"`
	}
	if err := json.Unmarshal(req.PublicKeyCredential, &cred); err != nil {
		return FIDO2Method{}, Result{}, fmt.Errorf("the key's answer is not a JSON credential: %w", err)
	}
	trim := func(s string) string { return strings.TrimRight(s, "=") }
	cred.ID, cred.Response.ClientDataJSON, cred.Response.AttestationObject = trim(cred.ID), trim(cred.Response.ClientDataJSON), trim(cred.Response.AttestationObject)
	req.PublicKeyCredential, _ = json.Marshal(cred)
	var m FIDO2Method
	r, err := c.do(ctx, http.MethodPost, "/users/"+esc(userID)+"/authentication/fido2Methods", req, &m)
	return m, r, err
}

// KeyRestrictions is fido2KeyRestrictions.
type KeyRestrictions struct {
	IsEnforced      bool     `json:"isEnforced"`
	EnforcementType string   `json:"enforcementType"`
	AAGUIDs         []string `json:"aaGuids"`
}

// FIDO2Policy is the tenant's fido2AuthenticationMethodConfiguration
// (resources/fido2authenticationmethodconfiguration.md). v1.0 marks
// isAttestationEnforced and keyRestrictions deprecated in favour of
// passkeyProfiles; defaultPasskeyProfile names the baseline profile, and
// each include target lists the profiles its members may use
// (passkeyauthenticationmethodtarget.md).
type FIDO2Policy struct {
	State                            string           `json:"state"`
	IsSelfServiceRegistrationAllowed bool             `json:"isSelfServiceRegistrationAllowed"`
	IsAttestationEnforced            bool             `json:"isAttestationEnforced"`
	KeyRestrictions                  KeyRestrictions  `json:"keyRestrictions"`
	DefaultPasskeyProfile            string           `json:"defaultPasskeyProfile,omitempty"`
	PasskeyProfiles                  []PasskeyProfile `json:"passkeyProfiles,omitempty"`
	IncludeTargets                   []PasskeyTarget  `json:"includeTargets,omitempty"`
	ExcludeTargets                   []Target         `json:"excludeTargets,omitempty"`
}

// PasskeyProfile is passkeyProfile (resources/passkeyprofile.md).
// PasskeyTypes is a flags enum: "deviceBound", "synced" or
// "deviceBound,synced".
type PasskeyProfile struct {
	ID                     string          `json:"id"`
	Name                   string          `json:"name"`
	AttestationEnforcement string          `json:"attestationEnforcement"`
	KeyRestrictions        KeyRestrictions `json:"keyRestrictions"`
	PasskeyTypes           string          `json:"passkeyTypes"`
}

// PasskeyTarget is passkeyAuthenticationMethodTarget.
type PasskeyTarget struct {
	TargetType             string   `json:"targetType"`
	ID                     string   `json:"id"`
	AllowedPasskeyProfiles []string `json:"allowedPasskeyProfiles,omitempty"`
}

// Target is an include or exclude target of a method policy; groups are
// named by object id, everyone by "all_users".
type Target struct {
	TargetType string `json:"targetType"`
	ID         string `json:"id"`
}

// TAPPolicy is the tenant's temporaryAccessPassAuthenticationMethodConfiguration.
type TAPPolicy struct {
	State                    string   `json:"state"`
	IncludeTargets           []Target `json:"includeTargets"`
	ExcludeTargets           []Target `json:"excludeTargets"`
	MinimumLifetimeInMinutes int      `json:"minimumLifetimeInMinutes"`
	MaximumLifetimeInMinutes int      `json:"maximumLifetimeInMinutes"`
	DefaultLifetimeInMinutes int      `json:"defaultLifetimeInMinutes"`
	IsUsableOnce             bool     `json:"isUsableOnce"`
	DefaultLength            int      `json:"defaultLength"`
}

// methodConfigs is where the method policies are. The ids are spelled as
// the v1.0 pages' HTTP request lines spell them
// (.../temporaryAccessPass, .../fido2); `tapd entra-check` shows whether
// a tenant takes the other spelling too.
const methodConfigs = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/"

// TAPPolicy reads the tenant's Temporary Access Pass policy.
func (c *Client) TAPPolicy(ctx context.Context) (TAPPolicy, Result, error) {
	var p TAPPolicy
	r, err := c.do(ctx, http.MethodGet, methodConfigs+"temporaryAccessPass", nil, &p)
	return p, r, err
}

// FIDO2Policy reads the tenant's FIDO2 (passkey) policy with its passkey
// profiles. v1.0 lists passkeyProfiles under Relationships
// (fido2authenticationmethodconfiguration.md), which a GET returns only
// when asked with $expand; a Graph that holds them as a plain property
// refuses that $expand (400), so the policy is then read without it and
// the profiles come inline. Either way a tenant's profiles are seen: unseen,
// tapd would skip its own check and let Graph refuse the key after the
// touch.
func (c *Client) FIDO2Policy(ctx context.Context) (FIDO2Policy, Result, error) {
	var p FIDO2Policy
	r, err := c.do(ctx, http.MethodGet, methodConfigs+"fido2?$expand=passkeyProfiles", nil, &p)
	var ge *Error
	if errors.As(err, &ge) && ge.Status == http.StatusBadRequest {
		p = FIDO2Policy{}
		r, err = c.do(ctx, http.MethodGet, methodConfigs+"fido2", nil, &p)
	}
	return p, r, err
}
