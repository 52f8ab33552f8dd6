package fido

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"

	"github.com/go-webauthn/webauthn/protocol"
	libfido2 "github.com/keys-pub/go-libfido2"
)

// AssertRequest is one key check: the relying party's request options and
// the origin, and the PIN when the key has one.
type AssertRequest struct {
	Options protocol.PublicKeyCredentialRequestOptions
	Origin  string
	PIN     string
}

// Assertion is the WebAuthn assertion response in its JSON shape.
type Assertion struct {
	ID                      string            `json:"id"`
	RawID                   string            `json:"rawId"`
	Type                    string            `json:"type"`
	Response                AssertionResponse `json:"response"`
	AuthenticatorAttachment string            `json:"authenticatorAttachment"`
}

// AssertionResponse is the authenticator's signed answer.
type AssertionResponse struct {
	ClientDataJSON    string `json:"clientDataJSON"`
	AuthenticatorData string `json:"authenticatorData"`
	Signature         string `json:"signature"`
	UserHandle        string `json:"userHandle,omitempty"`
}

// Assert has the key at path sign the relying party's challenge: the key
// check after registration ("touch once more"). Cancel and errors behave
// as in Register.
func Assert(ctx context.Context, path string, req AssertRequest) (*Assertion, error) {
	o := req.Options
	if o.RelyingPartyID == "" || len(o.Challenge) == 0 {
		return nil, errors.New("request options lack rpId or challenge")
	}
	info, err := GetInfo(path)
	if err != nil {
		return nil, err
	}
	// A key with built-in UV (an enrolled finger) verifies the person
	// itself, so it needs no PIN.
	if info.PINSet && req.PIN == "" && !info.BuiltInUV {
		return nil, ErrPINRequired
	}
	if o.UserVerification == protocol.VerificationRequired && !info.PINSet && !info.BuiltInUV {
		return nil, ErrPINNotSet
	}
	var allow [][]byte
	for _, c := range o.AllowedCredentials {
		allow = append(allow, c.CredentialID)
	}
	cd, _ := json.Marshal(clientData{Type: "webauthn.get", Challenge: b64.EncodeToString(o.Challenge), Origin: req.Origin})
	cdh := sha256.Sum256(cd)
	dev, err := libfido2.NewDevice(path)
	if err != nil {
		return nil, err
	}
	opts := &libfido2.AssertionOpts{UP: libfido2.True}
	if req.PIN == "" && (info.BuiltInUV || o.UserVerification == protocol.VerificationRequired) {
		opts.UV = libfido2.True // as in Register: only a key with built-in UV gets here
	}
	var a *libfido2.Assertion
	err = untilDone(ctx, dev, func() (err error) {
		a, err = dev.Assertion(o.RelyingPartyID, cdh[:], allow, req.PIN, opts)
		return err
	})
	if err != nil {
		if errors.Is(err, libfido2.ErrNoCredentials) {
			return nil, ErrNotRegisteredOnKey
		}
		return nil, mapTouchErr(ctx, path, "getAssertion", err)
	}
	authData, err := unwrapAuthData(a.AuthDataCBOR)
	if err != nil {
		return nil, err
	}
	id := a.CredentialID
	if len(id) == 0 && len(allow) == 1 {
		id = allow[0] // a key may omit the id when only one was allowed
	}
	out := &Assertion{ID: b64.EncodeToString(id), RawID: b64.EncodeToString(id), Type: "public-key", AuthenticatorAttachment: "cross-platform",
		Response: AssertionResponse{ClientDataJSON: b64.EncodeToString(cd), AuthenticatorData: b64.EncodeToString(authData), Signature: b64.EncodeToString(a.Sig)}}
	if len(a.User.ID) > 0 {
		out.Response.UserHandle = b64.EncodeToString(a.User.ID)
	}
	return out, nil
}
