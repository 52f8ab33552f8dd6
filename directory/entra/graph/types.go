package graph

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/tap"
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

// tapd's own API took Graph's shapes, so Graph's types are tapd's.
type (
	// TAPMethod is Graph's temporaryAccessPassAuthenticationMethod.
	TAPMethod = api.TemporaryAccessPassMethod
	// CreateTAP is the body of POST temporaryAccessPassMethods.
	CreateTAP = api.CreatePassRequest
	// FIDO2Method is Graph's fido2AuthenticationMethod.
	FIDO2Method = api.FIDO2Method
	// CreationOptions is fido2Methods/creationOptions' answer
	// (webauthnCredentialCreationOptions).
	CreationOptions = api.CreationOptions
)

// Method is one entry of GET /authentication/methods. tapd's method shape
// is Graph's, except that Graph names the kind in @odata.type and a phone
// by its number.
type Method struct {
	api.AuthenticationMethod
	Type        string `json:"@odata.type"`
	PhoneNumber string `json:"phoneNumber,omitempty"`
}

// Kind is the method's kind as Graph's paths name it: fido2,
// microsoftAuthenticator, phone, ...
func (m Method) Kind() string { return api.MethodKind(m.Type) }

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

// Groups lists the groups the user belongs to, directly or not, following
// @odata.nextLink: a user in many groups must not drop out of a policy
// target that happens to sit on a later page.
func (c *Client) Groups(ctx context.Context, userID string) ([]Group, Result, error) {
	var out []Group
	path := "/users/" + esc(userID) + "/transitiveMemberOf/microsoft.graph.group?$select=id,displayName&$top=999"
	for page := 1; ; page++ {
		var l list[Group]
		r, err := c.do(ctx, http.MethodGet, path, nil, &l)
		if err != nil {
			return nil, r, err
		}
		out = append(out, l.Value...)
		if l.NextLink == "" {
			return out, r, nil
		}
		base := strings.TrimRight(c.BaseURL, "/")
		if !strings.HasPrefix(l.NextLink, base+"/") || page >= maxGroupPages {
			return nil, r, fmt.Errorf("graph: cannot follow the group list's next page (%d pages read)", page)
		}
		path = strings.TrimPrefix(l.NextLink, base)
	}
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

// CreationOptions fetches FIDO2 creation options; fetch them right before
// the touch, as the challenge lives five minutes. Graph sends the user
// handle as unpadded base64url text; it comes back here as bytes
// (protocol.URLEncodedBase64), like every other binary field.
func (c *Client) CreationOptions(ctx context.Context, userID string) (CreationOptions, Result, error) {
	var o CreationOptions
	r, err := c.do(ctx, http.MethodGet, "/users/"+esc(userID)+"/authentication/fido2Methods/creationOptions", nil, &o)
	if err != nil {
		return o, r, err
	}
	id, _ := o.PublicKey.User.ID.(string)
	handle, derr := base64.RawURLEncoding.DecodeString(strings.TrimRight(id, "="))
	if derr != nil || len(handle) == 0 || o.PublicKey.RelyingParty.ID == "" || len(o.PublicKey.Challenge) == 0 {
		return o, r, fmt.Errorf("graph sent creation options without a usable rp id, challenge or base64url user id (request-id %s)", r.RequestID)
	}
	o.PublicKey.User.ID = protocol.URLEncodedBase64(handle)
	return o, r, nil
}

// RegisterFIDO2 sends the key's registration response to Entra, in
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

// FIDO2Policy is the tenant's fido2AuthenticationMethodConfiguration.
type FIDO2Policy struct {
	State                            string              `json:"state"`
	IsSelfServiceRegistrationAllowed bool                `json:"isSelfServiceRegistrationAllowed"`
	IsAttestationEnforced            bool                `json:"isAttestationEnforced"`
	KeyRestrictions                  api.KeyRestrictions `json:"keyRestrictions"`
}

const methodConfigs = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/"

// TAPPolicy reads the tenant's Temporary Access Pass policy. Graph's field
// names are tap.Policy's, so it decodes straight into it; include and
// exclude targets name groups by object id.
func (c *Client) TAPPolicy(ctx context.Context) (tap.Policy, Result, error) {
	var p tap.Policy
	r, err := c.do(ctx, http.MethodGet, methodConfigs+"TemporaryAccessPass", nil, &p)
	return p, r, err
}

// FIDO2Policy reads the tenant's FIDO2 (passkey) policy.
func (c *Client) FIDO2Policy(ctx context.Context) (FIDO2Policy, Result, error) {
	var p FIDO2Policy
	r, err := c.do(ctx, http.MethodGet, methodConfigs+"Fido2", nil, &p)
	return p, r, err
}
