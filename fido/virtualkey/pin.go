package virtualkey

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"unicode/utf8"
)

const ctap2ErrInvalidSubcommand = 0x3e

// pinProtocol implements PIN/UV auth protocols one and two (CTAP 2.1 §6.5).
type pinProtocol int

// sharedSecret derives the protocol's shared secret from ECDH with the
// platform's key. Protocol 1: SHA-256(Z). Protocol 2: HKDF-SHA-256 into an
// HMAC key ‖ AES key.
func (p pinProtocol) sharedSecret(priv *ecdh.PrivateKey, peer coseKeyIn) ([]byte, error) {
	if len(peer.X) != 32 || len(peer.Y) != 32 || peer.Kty != 2 || peer.Crv != 1 {
		return nil, statusError(ctap1ErrInvalidParameter)
	}
	pub, err := ecdh.P256().NewPublicKey(append(append([]byte{4}, peer.X...), peer.Y...))
	if err != nil {
		return nil, statusError(ctap1ErrInvalidParameter)
	}
	z, err := priv.ECDH(pub)
	if err != nil {
		return nil, statusError(ctap1ErrInvalidParameter)
	}
	if p == 1 {
		h := sha256.Sum256(z)
		return h[:], nil
	}
	salt := make([]byte, 32)
	hk, err := hkdf.Key(sha256.New, z, salt, "CTAP2 HMAC key", 32)
	if err != nil {
		return nil, err
	}
	ak, err := hkdf.Key(sha256.New, z, salt, "CTAP2 AES key", 32)
	if err != nil {
		return nil, err
	}
	return append(hk, ak...), nil
}

func (p pinProtocol) aesKey(shared []byte) []byte {
	if p == 1 {
		return shared
	}
	return shared[32:]
}

func (p pinProtocol) hmacKey(key []byte) []byte {
	if p == 2 && len(key) == 64 {
		return key[:32]
	}
	return key
}

func (p pinProtocol) encrypt(shared, pt []byte) []byte {
	block, _ := aes.NewCipher(p.aesKey(shared))
	iv := make([]byte, 16)
	if p == 2 {
		rand.Read(iv)
	}
	ct := make([]byte, len(pt))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, pt)
	if p == 2 {
		return append(iv, ct...)
	}
	return ct
}

func (p pinProtocol) decrypt(shared, ct []byte) ([]byte, error) {
	iv := make([]byte, 16)
	if p == 2 {
		if len(ct) < 16 {
			return nil, errors.New("short")
		}
		iv, ct = ct[:16], ct[16:]
	}
	if len(ct) == 0 || len(ct)%16 != 0 {
		return nil, errors.New("bad length")
	}
	block, _ := aes.NewCipher(p.aesKey(shared))
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(pt, ct)
	return pt, nil
}

// verify checks an HMAC-SHA-256 tag (16 bytes for protocol 1, 32 for 2)
// in constant time. key is a shared secret or a pinUvAuthToken.
func (p pinProtocol) verify(key, msg, tag []byte) bool {
	m := hmac.New(sha256.New, p.hmacKey(key))
	m.Write(msg)
	sum := m.Sum(nil)
	if p == 1 {
		sum = sum[:16]
	}
	return subtle.ConstantTimeCompare(sum, tag) == 1
}

type coseKeyIn struct {
	Kty int    `cbor:"1,keyasint"`
	Alg int    `cbor:"3,keyasint"`
	Crv int    `cbor:"-1,keyasint"`
	X   []byte `cbor:"-2,keyasint"`
	Y   []byte `cbor:"-3,keyasint"`
}

type clientPINRequest struct {
	Protocol       *uint64    `cbor:"1,keyasint"`
	SubCommand     *uint64    `cbor:"2,keyasint"`
	KeyAgreement   *coseKeyIn `cbor:"3,keyasint"`
	PinUvAuthParam []byte     `cbor:"4,keyasint"`
	NewPinEnc      []byte     `cbor:"5,keyasint"`
	PinHashEnc     []byte     `cbor:"6,keyasint"`
	Permissions    *uint64    `cbor:"9,keyasint"`
	RPID           *string    `cbor:"10,keyasint"`
}

func (k *Key) protocol(v *uint64) (pinProtocol, error) {
	if v == nil {
		return 0, statusError(ctap2ErrMissingParameter)
	}
	for _, p := range k.opts.PINProtocols {
		if uint64(p) == *v {
			return pinProtocol(p), nil
		}
	}
	return 0, statusError(ctap1ErrInvalidParameter)
}

func (k *Key) clientPIN(params []byte) (any, error) {
	var r clientPINRequest
	if err := decodeParams(params, &r); err != nil {
		return nil, err
	}
	if r.SubCommand == nil {
		return nil, statusError(ctap2ErrMissingParameter)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	sub := *r.SubCommand
	switch sub {
	case 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x09:
	default:
		return nil, statusError(ctap2ErrInvalidSubcommand)
	}
	if sub == 0x01 { // getPINRetries
		return map[int]any{3: k.st.PINRetries, 4: k.pinFailsBoot >= 3}, nil
	}
	p, err := k.protocol(r.Protocol)
	if err != nil {
		return nil, err
	}
	if sub == 0x02 { // getKeyAgreement
		raw := k.kaKey.PublicKey().Bytes()
		return map[int]any{1: map[int]any{1: 2, 3: -25, -1: 1, -2: raw[1:33], -3: raw[33:65]}}, nil
	}
	if r.KeyAgreement == nil {
		return nil, statusError(ctap2ErrMissingParameter)
	}
	shared, err := p.sharedSecret(k.kaKey, *r.KeyAgreement)
	if err != nil {
		return nil, err
	}
	switch sub {
	case 0x03: // setPIN
		if r.NewPinEnc == nil || r.PinUvAuthParam == nil {
			return nil, statusError(ctap2ErrMissingParameter)
		}
		if k.st.PINHash != nil {
			return nil, statusError(ctap2ErrPINAuthInvalid)
		}
		if !p.verify(shared, r.NewPinEnc, r.PinUvAuthParam) {
			return nil, statusError(ctap2ErrPINAuthInvalid)
		}
		k.st.ForcePINChange = false
		return nil, k.storeNewPIN(p, shared, r.NewPinEnc)
	case 0x04: // changePIN
		if r.NewPinEnc == nil || r.PinHashEnc == nil || r.PinUvAuthParam == nil {
			return nil, statusError(ctap2ErrMissingParameter)
		}
		if err := k.pinUsable(); err != nil {
			return nil, err
		}
		if !p.verify(shared, append(append([]byte{}, r.NewPinEnc...), r.PinHashEnc...), r.PinUvAuthParam) {
			return nil, statusError(ctap2ErrPINAuthInvalid)
		}
		if err := k.checkPINHash(p, shared, r.PinHashEnc); err != nil {
			return nil, err
		}
		old := k.st.PINHash
		if err := k.storeNewPIN(p, shared, r.NewPinEnc); err != nil {
			return nil, err
		}
		if k.st.ForcePINChange && subtle.ConstantTimeCompare(old, k.st.PINHash) == 1 {
			// A forced change must change it (CTAP 2.1 §6.5.5.6).
			return nil, statusError(ctap2ErrPINPolicyViolation)
		}
		k.st.ForcePINChange = false
		return nil, k.save()
	case 0x05, 0x06, 0x09: // getPinToken, getPinUvAuthTokenUsingUvWithPermissions, ...UsingPinWithPermissions
		if r.PinHashEnc == nil && sub != 0x06 {
			return nil, statusError(ctap2ErrMissingParameter)
		}
		perms, rp := byte(permMakeCredential|permGetAssertion), ""
		if k.opts.LegacyPINToken {
			// A key without pinUvAuthToken is a CTAP 2.0 key (with
			// credentialMgmtPreview), whose tokens carry no permissions
			// and are good for credential management too.
			perms |= permCredMgmt | permBioEnroll
		}
		if sub == 0x05 {
			if r.Permissions != nil || r.RPID != nil {
				return nil, statusError(ctap1ErrInvalidParameter)
			}
		} else {
			if r.Permissions == nil {
				return nil, statusError(ctap2ErrMissingParameter)
			}
			if *r.Permissions == 0 || *r.Permissions > 0xff {
				return nil, statusError(ctap1ErrInvalidParameter)
			}
			perms = byte(*r.Permissions)
			if perms&permAuthnrCfg != 0 && k.opts.NoAuthnrCfg {
				return nil, statusError(ctap2ErrUnauthorizedPermission)
			}
			if r.RPID != nil {
				rp = *r.RPID
			}
		}
		if sub == 0x06 {
			// Built-in UV: the simulated finger always matches.
			if !k.opts.BuiltInUV && !k.bioUV() {
				return nil, statusError(ctap2ErrInvalidSubcommand)
			}
			rand.Read(k.token)
			k.tokenPerms, k.tokenRP = perms, rp
			return map[int]any{2: p.encrypt(shared, k.token)}, nil
		}
		if err := k.pinUsable(); err != nil {
			return nil, err
		}
		if err := k.checkPINHash(p, shared, r.PinHashEnc); err != nil {
			return nil, err
		}
		if k.st.ForcePINChange {
			// The PIN was right (the tries are back to full) but must be
			// changed before it is good for anything else (CTAP 2.1
			// §6.5.5.7).
			return nil, statusError(ctap2ErrPINPolicyViolation)
		}
		rand.Read(k.token)
		k.tokenPerms, k.tokenRP = perms, rp
		return map[int]any{2: p.encrypt(shared, k.token)}, nil
	}
	return nil, statusError(ctap2ErrInvalidSubcommand)
}

// pinUsable refuses PIN checks on a key with no PIN, a blocked PIN, or three
// wrong tries since power-up.
func (k *Key) pinUsable() error {
	switch {
	case k.st.PINHash == nil:
		return statusError(ctap2ErrPINNotSet)
	case k.st.PINRetries == 0:
		return statusError(ctap2ErrPINBlocked)
	case k.pinFailsBoot >= 3:
		return statusError(ctap2ErrPINAuthBlocked)
	}
	return nil
}

// checkPINHash compares LEFT(SHA-256(PIN), 16) with the stored one. The
// retry counter drops before the comparison, so pulling the key mid-check
// cannot save a guess, and a wrong PIN also changes the key agreement key.
func (k *Key) checkPINHash(p pinProtocol, shared, enc []byte) error {
	k.st.PINRetries--
	if err := k.save(); err != nil {
		return err
	}
	got, err := p.decrypt(shared, enc)
	if err != nil || len(got) != 16 || subtle.ConstantTimeCompare(got, k.st.PINHash) != 1 {
		k.kaKey, _ = ecdh.P256().GenerateKey(rand.Reader)
		k.pinFailsBoot++
		switch {
		case k.st.PINRetries == 0:
			return statusError(ctap2ErrPINBlocked)
		case k.pinFailsBoot >= 3:
			return statusError(ctap2ErrPINAuthBlocked)
		}
		return statusError(ctap2ErrPINInvalid)
	}
	k.st.PINRetries = maxPINRetries
	k.pinFailsBoot = 0
	return k.save()
}

// storeNewPIN decrypts a padded new PIN and applies the key's policy: at
// least minPINLength code points, at most 63 bytes.
func (k *Key) storeNewPIN(p pinProtocol, shared, enc []byte) error {
	padded, err := p.decrypt(shared, enc)
	if err != nil || len(padded) != 64 {
		return statusError(ctap1ErrInvalidParameter)
	}
	n := 0
	for n < len(padded) && padded[n] != 0 {
		n++
	}
	pin := padded[:n]
	if n == 64 || n < 4 || !utf8.Valid(pin) || utf8.RuneCount(pin) < k.minPINLength() {
		return statusError(ctap2ErrPINPolicyViolation)
	}
	h := sha256.Sum256(pin)
	k.st.PINHash = h[:16]
	k.st.PINLength = utf8.RuneCount(pin)
	k.st.PINRetries = maxPINRetries
	k.pinFailsBoot = 0
	rand.Read(k.token)
	k.tokenPerms, k.tokenRP = 0, ""
	return k.save()
}

// checkToken verifies a pinUvAuthParam made with the current token, its
// permission, and its relying party binding. Called with k.mu held.
func (k *Key) checkToken(param []byte, proto *uint64, msg []byte, perm byte, rpID string) error {
	p, err := k.protocol(proto)
	if err != nil {
		return err
	}
	if k.st.PINHash == nil && !k.opts.BuiltInUV && !k.bioUV() {
		return statusError(ctap2ErrPINNotSet)
	}
	if !p.verify(k.token, msg, param) {
		return statusError(ctap2ErrPINAuthInvalid)
	}
	if k.tokenPerms&perm == 0 {
		return statusError(ctap2ErrUnauthorizedPermission)
	}
	if rpID != "" {
		if k.tokenRP != "" && k.tokenRP != rpID {
			return statusError(ctap2ErrUnauthorizedPermission)
		}
		k.tokenRP = rpID
	}
	return nil
}
