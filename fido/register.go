package fido

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/fxamacker/cbor/v2"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	libfido2 "github.com/keys-pub/go-libfido2"
)

// RegisterRequest is one registration: the relying party's creation
// options (as tapd or Microsoft Graph send them), the origin the client
// declares (https:// + rp.id for both), and the PIN when the key has one.
type RegisterRequest struct {
	Options protocol.PublicKeyCredentialCreationOptions
	Origin  string
	PIN     string
}

// Registration is the WebAuthn registration response, in the JSON shape
// tapd and Microsoft Graph accept: {id, rawId, type, response{...},
// clientExtensionResults}.
type Registration struct {
	ID                      string                 `json:"id"`
	RawID                   string                 `json:"rawId"`
	Type                    string                 `json:"type"`
	Response                RegistrationResponse   `json:"response"`
	Transports              []string               `json:"transports"`
	AuthenticatorAttachment string                 `json:"authenticatorAttachment"`
	ClientExtensionResults  ClientExtensionResults `json:"clientExtensionResults"`
	// Facts for the caller, not sent to the relying party.
	AAGUID [16]byte `json:"-"` // as authData carries it (zero for fido-u2f)
	Format string   `json:"-"`
}

// ClientExtensionResults are the client extension outputs of a
// registration: an entry for each extension the options asked for and
// the client processed, none otherwise.
type ClientExtensionResults struct {
	// HMACCreateSecret: whether the key made an hmac-secret for the
	// credential (hmacCreateSecret was asked).
	HMACCreateSecret *bool `json:"hmacCreateSecret,omitempty"`
	// CredProps: whether the credential is discoverable (credProps was
	// asked).
	CredProps *CredProps `json:"credProps,omitempty"`
}

// CredProps is the credProps extension's output.
type CredProps struct {
	RK bool `json:"rk"`
}

// RegistrationResponse is the attestation response.
type RegistrationResponse struct {
	ClientDataJSON    string   `json:"clientDataJSON"`
	AttestationObject string   `json:"attestationObject"`
	Transports        []string `json:"transports"`
}

var b64 = base64.RawURLEncoding

// clientData is WebAuthn's CollectedClientData for create(), field order
// as browsers write it.
type clientData struct {
	Type        string `json:"type"`
	Challenge   string `json:"challenge"`
	Origin      string `json:"origin"`
	CrossOrigin bool   `json:"crossOrigin"`
}

// UserHandle reads user.id, which go-webauthn gives as bytes and which
// arrives over JSON (from tapd or Graph) as base64url text. The kiosk uses
// it too, to know the account's passkeys on a key.
func UserHandle(id any) ([]byte, error) {
	switch v := id.(type) {
	case []byte:
		return v, nil
	case protocol.URLEncodedBase64:
		return v, nil
	case string:
		s := strings.TrimRight(v, "=")
		if b, err := b64.DecodeString(s); err == nil {
			return b, nil
		}
		if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("user.id is not bytes or base64url (%T)", id)
}

// residentRequired follows WebAuthn: residentKey "required", or the older
// requireResidentKey true.
func residentRequired(s protocol.AuthenticatorSelection) bool {
	return s.ResidentKey == protocol.ResidentKeyRequirementRequired || (s.RequireResidentKey != nil && *s.RequireResidentKey)
}

// residentPreferred follows WebAuthn Level 3 §5.1.3 (create(), the
// residentKey "preferred" case): the client makes a discoverable credential
// when the authenticator can store one. A key with no free slot cannot, so
// it gets a non-discoverable one rather than ErrKeyFull.
func residentPreferred(s protocol.AuthenticatorSelection, info Info) bool {
	return s.ResidentKey == protocol.ResidentKeyRequirementPreferred && info.ResidentKeys && info.RemainingResidentKeys != 0
}

// libfido2Algs are the credential algorithms libfido2 can ask a key for.
var libfido2Algs = map[webauthncose.COSEAlgorithmIdentifier]libfido2.CredentialType{
	webauthncose.AlgES256: libfido2.ES256,
	webauthncose.AlgEdDSA: libfido2.EDDSA,
	webauthncose.AlgRS256: libfido2.RS256,
}

// pickAlgorithm takes the relying party's first choice that libfido2 can
// ask for and the key lists in getInfo (keyAlgs). A browser passes the
// whole list and the key takes the first it supports (CTAP 2.1 §6.1.2);
// libfido2 passes one, so the kiosk chooses as the key would. A key that
// lists none of them (or lists nothing) is asked for the relying party's
// first choice, and says itself whether it can.
func pickAlgorithm(params []protocol.CredentialParameter, keyAlgs []int) (libfido2.CredentialType, error) {
	if len(params) == 0 {
		return libfido2.ES256, nil // WebAuthn's default list starts with ES256
	}
	first := libfido2.CredentialType(0)
	for _, p := range params {
		alg, ok := libfido2Algs[p.Algorithm]
		if !ok {
			continue
		}
		if slices.Contains(keyAlgs, int(p.Algorithm)) {
			return alg, nil
		}
		if first == 0 {
			first = alg
		}
	}
	if first == 0 {
		return 0, errors.New("the relying party offers no algorithm this kiosk can use (ES256, EdDSA, RS256)")
	}
	return first, nil
}

// Register creates a credential on the key at path and returns the
// registration response. Cancelling ctx (the person pressed Esc) or its
// deadline (no touch in time) stops the key's wait cleanly.
//
// excludeCredentials: go-libfido2 cannot pass an exclude list to the key.
// When the key supports credential management and a PIN is given, Register
// lists the key's passkeys for the RP and returns ErrAlreadyRegistered on a
// match. Otherwise the key makes a second credential and the relying party
// must refuse the duplicate (tapd and Entra both do).
//
// A full key (no free passkey slot) still takes the same account again:
// a key overwrites the passkey of the same rp id and user handle in place.
// Register gives ErrKeyFull only when it has seen that the key holds no
// passkey for this account, or when the key itself says so.
//
// Extensions: credentialProtectionPolicy (with
// enforceCredentialProtectionPolicy) and hmacCreateSecret are passed to a
// key that lists them in getInfo; an enforced policy, at any level, on a
// key without credProtect gives an UnsupportedKeyError with
// ReasonNoCredProtect. The response's
// clientExtensionResults answer credProps, and hmacCreateSecret when the
// key supports hmac-secret (omitted otherwise: see hmacCreateSecretOutput).
func Register(ctx context.Context, path string, req RegisterRequest) (*Registration, error) {
	o := req.Options
	if o.RelyingParty.ID == "" || len(o.Challenge) == 0 {
		return nil, errors.New("creation options lack rp.id or challenge")
	}
	user, err := UserHandle(o.User.ID)
	if err != nil || len(user) == 0 {
		return nil, fmt.Errorf("creation options: %v", err)
	}
	info, err := GetInfo(path)
	if err != nil {
		return nil, err
	}
	alg, err := pickAlgorithm(o.Parameters, info.Algorithms)
	if err != nil {
		return nil, err
	}
	rk := residentRequired(o.AuthenticatorSelection) || residentPreferred(o.AuthenticatorSelection, info)
	uvRequired := o.AuthenticatorSelection.UserVerification == protocol.VerificationRequired
	switch {
	case rk && !info.ResidentKeys:
		return nil, &UnsupportedKeyError{Reason: ReasonNoResidentKeys}
	case uvRequired && !info.PINSet && !info.BuiltInUV:
		return nil, ErrPINNotSet
	case info.PINSet && req.PIN == "":
		return nil, ErrPINRequired
	}
	opts, err := creationOpts(o.Extensions, info)
	if err != nil {
		return nil, err
	}
	if rk {
		opts.RK = libfido2.True
	}
	if uvRequired && req.PIN == "" {
		opts.UV = libfido2.True // only a key with built-in UV gets here
	}
	dev, err := libfido2.NewDevice(path)
	if err != nil {
		return nil, err
	}
	if err := checkRoom(dev, path, req.PIN, info, o, user, rk); err != nil {
		return nil, err
	}

	cd, _ := json.Marshal(clientData{Type: "webauthn.create", Challenge: b64.EncodeToString(o.Challenge), Origin: req.Origin})
	cdh := sha256.Sum256(cd)
	var att *libfido2.Attestation
	err = untilDone(ctx, dev, func() (err error) {
		att, err = dev.MakeCredential(cdh[:], libfido2.RelyingParty{ID: o.RelyingParty.ID, Name: o.RelyingParty.Name},
			libfido2.User{ID: user, Name: o.User.Name, DisplayName: o.User.DisplayName}, alg, req.PIN, opts)
		return err
	})
	if err != nil {
		return nil, mapTouchErr(ctx, path, "makeCredential", err)
	}
	attObj, err := attestationObject(att)
	if err != nil {
		return nil, err
	}
	ad, err := parseAuthData(att.AuthData)
	if err != nil {
		return nil, err
	}
	id := b64.EncodeToString(att.CredentialID)
	reg := &Registration{
		ID: id, RawID: id, Type: "public-key",
		Response: RegistrationResponse{ClientDataJSON: b64.EncodeToString(cd), AttestationObject: b64.EncodeToString(attObj),
			Transports: []string{"usb"}},
		Transports: []string{"usb"}, AuthenticatorAttachment: "cross-platform",
		Format: att.Format,
	}
	copy(reg.AAGUID[:], ad.AttData.AAGUID)
	reg.ClientExtensionResults.HMACCreateSecret = hmacCreateSecretOutput(o.Extensions, info, ad)
	if o.Extensions.CredProps {
		reg.ClientExtensionResults.CredProps = &CredProps{RK: rk}
	}
	return reg, nil
}

// hmacCreateSecretOutput is the hmacCreateSecret client extension output
// (CTAP 2.1 §12.5, hmac-secret; the boolean of its
// AuthenticationExtensionsClientOutputs): whether the key made an
// hmac-secret for the credential, when the client passed the extension to
// a key that lists hmac-secret in getInfo; nil (omitted) when it could not,
// because the key does not support it. WebAuthn Level 3 §9.2 (Defining
// Extensions): "Any client extension that is processed by the client MUST
// return a client extension output value so that the Relying Party knows
// that the extension was honored by the client", so an extension the
// client did not process has no output; its §10.1.4 prf extension, built
// on hmac-secret, sets "enabled" only when the authenticator supports
// hmac-secret (false if that key then gives no output), and python-fido2
// omits hmacCreateSecret for such a key in the same way.
func hmacCreateSecretOutput(ext protocol.AuthenticationExtensions, info Info, ad *authData) *bool {
	if !ext.HMACCreateSecret || !slices.Contains(info.Extensions, "hmac-secret") {
		return nil
	}
	made := ad.extensions["hmac-secret"] == true
	return &made
}

// checkRoom looks at the key's passkeys for the relying party, when the
// key can show them (credential management and a PIN), before the touch:
// a passkey on the exclude list means ErrAlreadyRegistered (go-libfido2
// cannot pass the list to the key), and a full key is ErrKeyFull only if
// none of its passkeys is this account's (the same rp id and user handle
// is overwritten in place and needs no free slot). A full key that cannot
// be looked at is asked anyway: it knows whether it would overwrite.
func checkRoom(dev *libfido2.Device, path, pin string, info Info, o protocol.PublicKeyCredentialCreationOptions, user []byte, rk bool) error {
	full := rk && info.RemainingResidentKeys == 0
	if (len(o.CredentialExcludeList) == 0 && !full) || !info.CredMgmt || pin == "" {
		return nil
	}
	creds, err := dev.Credentials(o.RelyingParty.ID, pin)
	if err != nil && !errors.Is(err, libfido2.ErrNoCredentials) {
		return keyErr("listCredentials", path, err)
	}
	for _, c := range creds {
		for _, ex := range o.CredentialExcludeList {
			if bytes.Equal(c.ID, ex.CredentialID) {
				return ErrAlreadyRegistered
			}
		}
		if bytes.Equal(c.User.ID, user) {
			full = false
		}
	}
	if full {
		return ErrKeyFull
	}
	return nil
}

// credProtectLevels maps WebAuthn's credentialProtectionPolicy to
// go-libfido2's credProtect.
var credProtectLevels = map[protocol.CredentialProtectionPolicy]libfido2.CredProtect{
	protocol.CredentialProtectionPolicyUserVerificationOptional:                     libfido2.CredProtectUVOptional,
	protocol.CredentialProtectionPolicyUserVerificationOptionalWithCredentialIDList: libfido2.CredProtectUVOptionalWithID,
	protocol.CredentialProtectionPolicyUserVerificationRequired:                     libfido2.CredProtectUVRequired,
}

// creationOpts turns the extensions the relying party asks for into
// makeCredential options. credProtect is sent when the key supports it;
// when it does not, registration goes on without it unless the policy is
// enforced, at any level: a relying party that enforces even
// userVerificationOptional (go-webauthn does) refuses an attestation whose
// authData lacks the credProtect output, so the key is refused here first,
// with a reason the kiosk can say, instead of after the touch.
func creationOpts(ext protocol.AuthenticationExtensions, info Info) (*libfido2.MakeCredentialOpts, error) {
	opts := &libfido2.MakeCredentialOpts{RK: libfido2.Default}
	if p := ext.CredentialProtectionPolicy; p != "" {
		level, ok := credProtectLevels[p]
		if !ok {
			return nil, fmt.Errorf("creation options: unknown credentialProtectionPolicy %q", p)
		}
		switch {
		case slices.Contains(info.Extensions, "credProtect"):
			opts.CredProtect = level
		case ext.EnforceCredentialProtectionPolicy:
			return nil, &UnsupportedKeyError{Reason: ReasonNoCredProtect}
		}
	}
	if ext.HMACCreateSecret && slices.Contains(info.Extensions, "hmac-secret") {
		opts.Extensions = append(opts.Extensions, libfido2.HMACSecretExtension)
	}
	return opts, nil
}

// authData is authenticator data with its extension outputs decoded.
type authData struct {
	protocol.AuthenticatorData
	extensions map[string]any
}

// unwrapAuthData takes authenticator data out of the CBOR byte string
// go-libfido2 hands it over in.
func unwrapAuthData(wrapped []byte) ([]byte, error) {
	var raw []byte
	if err := cbor.Unmarshal(wrapped, &raw); err != nil {
		return nil, fmt.Errorf("key returned malformed authenticator data: %w", err)
	}
	return raw, nil
}

// parseAuthData unwraps and parses authenticator data, extensions
// included.
func parseAuthData(wrapped []byte) (*authData, error) {
	raw, err := unwrapAuthData(wrapped)
	if err != nil {
		return nil, err
	}
	ad := &authData{}
	if err := ad.Unmarshal(raw); err != nil {
		return nil, fmt.Errorf("key returned malformed authenticator data: %w", err)
	}
	if len(ad.ExtData) > 0 {
		if err := cbor.Unmarshal(ad.ExtData, &ad.extensions); err != nil {
			return nil, fmt.Errorf("key returned malformed authenticator extensions: %w", err)
		}
	}
	return ad, nil
}

// untilDone runs a call that waits for a touch. When ctx ends first (Esc,
// or the kiosk's own deadline) it sends CTAPHID CANCEL and waits for the
// call to return, so the key is free again when untilDone returns.
func untilDone(ctx context.Context, dev interface{ Cancel() error }, call func() error) error {
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		dev.Cancel()
		return <-done
	}
}

// mapTouchErr maps an error from a call that waited for a touch: a context
// that ended turns the key's cancel answer into ErrCancelled or, for a
// deadline, ErrTouchTimeout.
func mapTouchErr(ctx context.Context, path, op string, err error) error {
	if ctx.Err() != nil && (errors.Is(err, libfido2.ErrKeepaliveCancel) || errors.Is(err, libfido2.ErrRX)) {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return ErrTouchTimeout
		}
		return ErrCancelled
	}
	return keyErr(op, path, err)
}

var ctap2Enc, _ = cbor.CTAP2EncOptions().EncMode()

// attestationObject builds CBOR {fmt, attStmt, authData} from what
// go-libfido2 returns. Its traps: AuthData comes CBOR-wrapped (a byte
// string holding authData); Cert is the leaf only; the statement's alg is
// not exposed, so it is derived from the certificate's key (packed with
// x5c) or the credential type (packed self).
func attestationObject(att *libfido2.Attestation) ([]byte, error) {
	authData, err := unwrapAuthData(att.AuthData)
	if err != nil {
		return nil, err
	}
	var stmt map[string]any
	switch att.Format {
	case "packed":
		if len(att.Cert) > 0 {
			alg, err := certAlg(att.Cert)
			if err != nil {
				return nil, err
			}
			stmt = map[string]any{"alg": alg, "sig": att.Sig, "x5c": [][]byte{att.Cert}}
		} else {
			stmt = map[string]any{"alg": int(att.CredentialType), "sig": att.Sig}
		}
	case "fido-u2f":
		stmt = map[string]any{"sig": att.Sig, "x5c": [][]byte{att.Cert}}
	case "none":
		stmt = map[string]any{}
	default:
		return nil, fmt.Errorf("the key used attestation format %q, which this kiosk cannot pass on", att.Format)
	}
	return ctap2Enc.Marshal(map[string]any{"fmt": att.Format, "attStmt": stmt, "authData": authData})
}

// certAlg is the COSE algorithm of a certificate's key, as a packed
// statement signed with it declares.
func certAlg(der []byte) (int, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return 0, fmt.Errorf("key returned a malformed attestation certificate: %w", err)
	}
	switch k := c.PublicKey.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve.Params().BitSize {
		case 256:
			return int(webauthncose.AlgES256), nil
		case 384:
			return int(webauthncose.AlgES384), nil
		case 521:
			return int(webauthncose.AlgES512), nil
		}
	case ed25519.PublicKey:
		return int(webauthncose.AlgEdDSA), nil
	case *rsa.PublicKey:
		return int(webauthncose.AlgRS256), nil
	}
	return 0, fmt.Errorf("attestation certificate has an unsupported key type %T", c.PublicKey)
}
