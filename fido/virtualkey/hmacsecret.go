// The virtual key's hmac-secret extension at getAssertion (CTAP 2.1
// §12.5): the platform sends a key agreement key, one or two 32-byte salts
// encrypted with the shared secret (saltEnc) and their authentication
// (saltAuth); the key answers HMAC-SHA-256(CredRandom, salt) for each,
// encrypted with the same shared secret, in the authenticator data's
// extensions. A credential has two CredRandoms, one for user-verified
// requests and one for the rest, so the outputs differ with uv. WebAuthn's
// prf extension (Level 3 §10.1.4) rides on this, with salts
// SHA-256("WebAuthn PRF" ‖ 0x00 ‖ input) made by the client.

package virtualkey

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"

	"github.com/fxamacker/cbor/v2"
)

// hmacSecretRequest is the hmac-secret authenticator extension input.
type hmacSecretRequest struct {
	KeyAgreement *coseKeyIn `cbor:"1,keyasint"`
	SaltEnc      []byte     `cbor:"2,keyasint"`
	SaltAuth     []byte     `cbor:"3,keyasint"`
	Protocol     *uint64    `cbor:"4,keyasint"`
}

// hmacSecretInput is a checked request: the salts in the clear and how to
// encrypt the answer.
type hmacSecretInput struct {
	proto  pinProtocol
	shared []byte
	salts  []byte // salt1, or salt1 ‖ salt2
}

// hmacSecretIn reads and checks the extension input, before any touch, so
// a bad request fails at once. nil, nil when it was not asked for (or the
// key has no extensions). Called with k.mu held (the key agreement key).
func (k *Key) hmacSecretIn(exts map[string]cbor.RawMessage) (*hmacSecretInput, error) {
	raw, ok := exts["hmac-secret"]
	if !ok || k.opts.NoExtensions {
		return nil, nil
	}
	var r hmacSecretRequest
	if err := decodeParams(raw, &r); err != nil {
		return nil, err
	}
	if r.KeyAgreement == nil || r.SaltEnc == nil || r.SaltAuth == nil {
		return nil, statusError(ctap2ErrMissingParameter)
	}
	// Absent pinUvAuthProtocol means protocol one.
	one := uint64(1)
	if r.Protocol == nil {
		r.Protocol = &one
	}
	p, err := k.protocol(r.Protocol)
	if err != nil {
		return nil, err
	}
	shared, err := p.sharedSecret(k.kaKey, *r.KeyAgreement)
	if err != nil {
		return nil, err
	}
	if !p.verify(shared, r.SaltEnc, r.SaltAuth) {
		return nil, statusError(ctap2ErrPINAuthInvalid)
	}
	salts, err := p.decrypt(shared, r.SaltEnc)
	if err != nil || (len(salts) != 32 && len(salts) != 64) {
		return nil, statusError(ctap1ErrInvalidLength)
	}
	return &hmacSecretInput{proto: p, shared: shared, salts: salts}, nil
}

// output is the encrypted hmac-secret output for credential c, or nil
// when c was made without hmac-secret (the extension is then ignored).
// Called with k.mu held; a credential stored before it had a user-verified
// secret gets one now.
func (in *hmacSecretInput) output(c *cred, uv bool) []byte {
	if in == nil || c.CredRandom == nil {
		return nil
	}
	if c.CredRandomUV == nil {
		c.CredRandomUV = newCredRandom()
	}
	secret := c.CredRandom
	if uv {
		secret = c.CredRandomUV
	}
	var out []byte
	for i := 0; i < len(in.salts); i += 32 {
		m := hmac.New(sha256.New, secret)
		m.Write(in.salts[i : i+32])
		out = m.Sum(out)
	}
	return in.proto.encrypt(in.shared, out)
}

// newCredRandom is a fresh 32-byte per-credential hmac-secret.
func newCredRandom() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}
