// The virtual key's authenticatorMakeCredential: the request's shape,
// making the credential, its attestation, and the extensions it takes.

package virtualkey

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/fxamacker/cbor/v2"
)

type rpEntity struct {
	ID   string `cbor:"id"`
	Name string `cbor:"name,omitempty"`
}

type userEntity struct {
	ID          []byte `cbor:"id"`
	Name        string `cbor:"name,omitempty"`
	DisplayName string `cbor:"displayName,omitempty"`
}

type credParam struct {
	Alg  int    `cbor:"alg"`
	Type string `cbor:"type"`
}

type credDesc struct {
	ID   []byte `cbor:"id"`
	Type string `cbor:"type"`
}

type makeCredRequest struct {
	ClientDataHash    []byte                     `cbor:"1,keyasint"`
	RP                *rpEntity                  `cbor:"2,keyasint"`
	User              *userEntity                `cbor:"3,keyasint"`
	PubKeyCredParams  []credParam                `cbor:"4,keyasint"`
	ExcludeList       []credDesc                 `cbor:"5,keyasint"`
	Extensions        map[string]cbor.RawMessage `cbor:"6,keyasint"`
	Options           map[string]bool            `cbor:"7,keyasint"`
	PinUvAuthParam    []byte                     `cbor:"8,keyasint"`
	PinUvAuthProtocol *uint64                    `cbor:"9,keyasint"`
}

func (k *Key) makeCredential(ctx context.Context, params []byte, ka func(byte)) (any, error) {
	var r makeCredRequest
	if err := decodeParams(params, &r); err != nil {
		return nil, err
	}
	if r.ClientDataHash == nil || r.RP == nil || r.User == nil || r.PubKeyCredParams == nil {
		return nil, statusError(ctap2ErrMissingParameter)
	}
	if len(r.ClientDataHash) != 32 || r.RP.ID == "" || len(r.User.ID) == 0 || len(r.User.ID) > 64 {
		return nil, statusError(ctap1ErrInvalidParameter)
	}
	alg, err := k.pickAlgorithm(r.PubKeyCredParams)
	if err != nil {
		return nil, err
	}
	rk, wantUV := r.Options["rk"], r.Options["uv"]
	if up, ok := r.Options["up"]; ok && !up {
		return nil, statusError(ctap2ErrInvalidOption)
	}
	if rk && k.opts.NoResidentKeys {
		return nil, statusError(ctap2ErrUnsupportedOption)
	}
	ext, err := k.makeCredExtensions(r.Extensions)
	if err != nil {
		return nil, err
	}
	uv, err := k.userVerify(ctx, ka, r.PinUvAuthParam, r.PinUvAuthProtocol, r.ClientDataHash, permMakeCredential, r.RP.ID, wantUV)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	excluded := false
	for _, d := range r.ExcludeList {
		if c := k.findCred(d.ID); c != nil && c.RPID == r.RP.ID {
			excluded = true
		}
	}
	full := rk && k.residentCount() >= k.opts.MaxResident && k.findResident(r.RP.ID, r.User.ID) == nil
	k.mu.Unlock()
	if excluded {
		// The spec has the key wait for a touch first when the request is
		// not user-verified, so that an unverified caller can't probe.
		if !uv {
			if st := k.waitPresence(ctx, ka); st != ctap1Success {
				return nil, statusError(st)
			}
		}
		return nil, statusError(ctap2ErrCredentialExcluded)
	}
	if full {
		return nil, statusError(ctap2ErrKeyStoreFull)
	}
	if st := k.waitPresence(ctx, ka); st != ctap1Success {
		return nil, statusError(st)
	}

	priv, pkcs8, err := newCredKey(alg)
	if err != nil {
		return nil, err
	}
	c := &cred{ID: make([]byte, 32), RPID: r.RP.ID, RPName: r.RP.Name, UserID: r.User.ID, UserName: r.User.Name,
		DisplayName: r.User.DisplayName, Priv: pkcs8, Resident: rk, Created: time.Now().UTC(), CredProtect: ext.credProtect}
	rand.Read(c.ID)
	if ext.hmacSecret {
		c.CredRandom, c.CredRandomUV = newCredRandom(), newCredRandom()
	}

	k.mu.Lock()
	defer k.mu.Unlock()
	if rk {
		if old := k.findResident(r.RP.ID, r.User.ID); old != nil {
			k.removeCred(old.ID) // same account on this RP: overwrite
		}
	}
	k.st.Creds = append(k.st.Creds, c)
	k.st.Counter++
	if err := k.save(); err != nil {
		return nil, err
	}
	flags := byte(flagUP | flagAT)
	if uv {
		flags |= flagUV
	}
	extOut := ext.outputs()
	if extOut != nil {
		flags |= flagED
	}
	// A U2F authenticator has no AAGUID: libfido2 writes zeros when it
	// turns a U2F registration into authData, and WebAuthn §8.6 builds
	// fido-u2f authData the same way.
	aaguid := k.opts.AAGUID
	if k.opts.Attestation == "fido-u2f" {
		aaguid = [16]byte{}
	}
	authData := k.authData(r.RP.ID, flags)
	authData = append(authData, aaguid[:]...)
	authData = binary.BigEndian.AppendUint16(authData, uint16(len(c.ID)))
	authData = append(authData, c.ID...)
	pub, _ := encMode.Marshal(credCOSEKey(priv))
	authData = append(authData, pub...)
	if extOut != nil {
		b, _ := encMode.Marshal(extOut)
		authData = append(authData, b...)
	}

	fmtName, stmt, err := k.attest(authData, r.ClientDataHash, priv, r.RP.ID, c.ID)
	if err != nil {
		return nil, err
	}
	return map[int]any{1: fmtName, 2: authData, 3: stmt}, nil
}

// attest signs the new credential as the configured format demands.
func (k *Key) attest(authData, cdh []byte, credKey crypto.Signer, rpID string, credID []byte) (string, map[string]any, error) {
	msg := append(append([]byte{}, authData...), cdh...)
	switch k.opts.Attestation {
	case "none":
		return "none", map[string]any{}, nil
	case "self":
		sig, err := credSign(credKey, msg)
		return "packed", map[string]any{"alg": credAlg(credKey), "sig": sig}, err
	case "fido-u2f":
		// U2F signs 0x00 ‖ rpIdHash ‖ clientDataHash ‖ credId ‖ pubkey(65).
		rpHash := sha256.Sum256([]byte(rpID))
		ecKey, ok := credKey.(*ecdsa.PrivateKey)
		if !ok { // algorithms() offers ES256 only to a fido-u2f key
			return "", nil, statusError(ctap2ErrUnsupportedAlgorithm)
		}
		pub := elliptic.Marshal(elliptic.P256(), ecKey.PublicKey.X, ecKey.PublicKey.Y) //nolint:staticcheck // U2F's raw point format
		m := append([]byte{0}, rpHash[:]...)
		m = append(m, cdh...)
		m = append(m, credID...)
		m = append(m, pub...)
		sig, err := sign(k.attKey, m)
		return "fido-u2f", map[string]any{"sig": sig, "x5c": [][]byte{k.attCert}}, err
	}
	sig, err := sign(k.attKey, msg)
	return "packed", map[string]any{"alg": coseAlgES256, "sig": sig, "x5c": [][]byte{k.attCert}}, err
}

// credExtensions are the makeCredential extensions the key acts on.
type credExtensions struct {
	credProtect int // 0 when not asked
	hmacSecret  bool
}

// makeCredExtensions reads credProtect and hmac-secret and ignores the
// rest, as CTAP has keys do with extensions they do not support.
func (k *Key) makeCredExtensions(in map[string]cbor.RawMessage) (credExtensions, error) {
	var e credExtensions
	if k.opts.NoExtensions {
		return e, nil
	}
	if raw, ok := in["credProtect"]; ok {
		var level uint64
		if err := decodeParams(raw, &level); err != nil {
			return e, err
		}
		if level < credProtectUVOptional || level > credProtectUVRequired {
			return e, statusError(ctap1ErrInvalidParameter)
		}
		e.credProtect = int(level)
	}
	if raw, ok := in["hmac-secret"]; ok {
		if err := decodeParams(raw, &e.hmacSecret); err != nil {
			return e, err
		}
	}
	return e, nil
}

// outputs is the authData extensions map, or nil when there is nothing
// to say (and the ED flag stays clear).
func (e credExtensions) outputs() map[string]any {
	out := map[string]any{}
	if e.credProtect != 0 {
		out["credProtect"] = e.credProtect
	}
	if e.hmacSecret {
		out["hmac-secret"] = true
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
