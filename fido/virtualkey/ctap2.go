package virtualkey

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"

	"github.com/fxamacker/cbor/v2"
)

// CTAP2 command bytes.
const (
	cmdMakeCredential    = 0x01
	cmdGetAssertion      = 0x02
	cmdGetInfo           = 0x04
	cmdClientPIN         = 0x06
	cmdReset             = 0x07
	cmdGetNextAssertion  = 0x08
	cmdCredMgmt          = 0x0a
	cmdSelection         = 0x0b
	cmdConfig            = 0x0d
	cmdCredMgmtPreview   = 0x41
	permMakeCredential   = 0x01
	permGetAssertion     = 0x02
	permCredMgmt         = 0x04
	permAuthnrCfg        = 0x20
	flagUP               = 0x01
	flagUV               = 0x04
	flagAT               = 0x40
	flagED               = 0x80
	coseAlgES256         = -7
	maxCredentialsInList = 8

	// credProtect levels (CTAP 2.1 §12.1).
	credProtectUVOptional       = 1
	credProtectUVOptionalWithID = 2
	credProtectUVRequired       = 3
)

var (
	// CTAP2 canonical CBOR: shortest forms, map keys sorted length-first.
	encMode, _ = cbor.CTAP2EncOptions().EncMode()
	// Strict decoding: no duplicate keys, no indefinite lengths, no tags,
	// bounded nesting, so hostile frames cannot make the key work hard.
	decMode, _ = cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
		TagsMd:           cbor.TagsForbidden,
		MaxNestedLevels:  8,
		MaxArrayElements: 64,
		MaxMapPairs:      32,
	}.DecMode()
)

// handleCBOR runs one CTAPHID_CBOR request and returns status ‖ response.
func (k *Key) handleCBOR(ctx context.Context, req []byte, ka func(byte)) []byte {
	cmd, params := req[0], req[1:]
	if len(params) > 0 {
		if st := checkCanonical(params); st != ctap1Success {
			return []byte{st}
		}
	}
	var out any
	var err error
	switch cmd {
	case cmdGetInfo:
		out = k.getInfo()
	case cmdMakeCredential:
		out, err = k.makeCredential(ctx, params, ka)
	case cmdGetAssertion:
		out, err = k.getAssertion(ctx, params, ka)
	case cmdGetNextAssertion:
		out, err = k.getNextAssertion()
	case cmdClientPIN:
		out, err = k.clientPIN(params)
	case cmdReset:
		err = k.reset(ctx, ka)
	case cmdCredMgmt, cmdCredMgmtPreview:
		if k.opts.NoCredMgmt {
			err = statusError(ctap1ErrInvalidCommand)
		} else {
			out, err = k.credMgmt(params)
		}
	case cmdConfig:
		if k.opts.NoAuthnrCfg {
			err = statusError(ctap1ErrInvalidCommand)
		} else {
			err = k.config(params)
		}
	case cmdBioEnroll, cmdBioEnrollPreview:
		if !k.opts.Bio {
			err = statusError(ctap1ErrInvalidCommand)
		} else {
			out, err = k.bioEnroll(ctx, params, ka)
		}
	case cmdSelection:
		if st := k.waitPresence(ctx, ka); st != ctap1Success {
			err = statusError(st)
		}
	default:
		err = statusError(ctap1ErrInvalidCommand)
	}
	var se statusError
	switch {
	case errors.As(err, &se):
		return []byte{byte(se)}
	case err != nil:
		return []byte{ctap1ErrOther}
	case out == nil:
		return []byte{ctap1Success}
	}
	b, err := encMode.Marshal(out)
	if err != nil {
		return []byte{ctap1ErrOther}
	}
	return append([]byte{ctap1Success}, b...)
}

// checkCanonical refuses CBOR that is malformed, truncated, not a map, or
// not in CTAP2 canonical form (libfido2 always sends canonical CBOR, and
// the spec says authenticators must check it).
func checkCanonical(b []byte) byte {
	var v any
	if err := decMode.Unmarshal(b, &v); err != nil {
		return ctap2ErrInvalidCBOR
	}
	if _, ok := v.(map[any]any); !ok {
		return ctap2ErrCBORUnexpectedType
	}
	re, err := encMode.Marshal(v)
	if err != nil || !bytes.Equal(re, b) {
		return ctap2ErrInvalidCBOR
	}
	return ctap1Success
}

// decodeParams decodes a request map into v, mapping type errors to the
// CTAP status.
func decodeParams(b []byte, v any) error {
	if err := decMode.Unmarshal(b, v); err != nil {
		var te *cbor.UnmarshalTypeError
		if errors.As(err, &te) {
			return statusError(ctap2ErrCBORUnexpectedType)
		}
		return statusError(ctap2ErrInvalidCBOR)
	}
	return nil
}

func (k *Key) getInfo() any {
	k.mu.Lock()
	defer k.mu.Unlock()
	o := k.opts
	options := map[string]bool{"rk": !o.NoResidentKeys, "up": true, "plat": false, "clientPin": k.st.PINHash != nil}
	if !o.NoCredMgmt {
		options["credMgmt"] = true
	}
	if !o.LegacyPINToken {
		options["pinUvAuthToken"] = true
	}
	if o.BuiltInUV {
		options["uv"] = true
	}
	if o.Bio {
		// Present: the key has a sensor; true: a finger is enrolled
		// (CTAP 2.1 §6.4). The preview name is what CTAP 2.1-PRE keys
		// (and libfido2's 0x40 command) go by.
		options["bioEnroll"] = k.bioUV()
		options["userVerificationMgmtPreview"] = k.bioUV()
		options["uv"] = k.bioUV()
	}
	if !o.NoAuthnrCfg {
		options["authnrCfg"] = true
		options["setMinPINLength"] = true
		options["alwaysUv"] = k.st.AlwaysUV
	}
	info := map[int]any{
		0x01: []string{"FIDO_2_0", "FIDO_2_1"},
		0x03: o.AAGUID[:],
		0x04: options,
		0x05: 1200,
		0x06: o.PINProtocols,
		0x07: maxCredentialsInList,
		0x08: 128,
		0x09: []string{"usb"},
		0x0a: k.algorithmList(),
		0x0c: k.st.ForcePINChange,
		0x0d: k.minPINLength(),
		0x0e: 1,
		0x14: o.MaxResident - k.residentCount(),
	}
	if !o.NoExtensions {
		info[0x02] = []string{"credProtect", "hmac-secret"}
	}
	return info
}

func (k *Key) residentCount() int {
	n := 0
	for _, c := range k.st.Creds {
		if c.Resident {
			n++
		}
	}
	return n
}

// userVerify handles the pinUvAuthParam rules shared by makeCredential and
// getAssertion. It returns whether the request is user-verified.
func (k *Key) userVerify(ctx context.Context, ka func(byte), param []byte, proto *uint64, msg []byte, perm byte, rpID string, wantUV bool) (bool, error) {
	if param != nil && len(param) == 0 {
		// A zero-length pinUvAuthParam is the platform asking "which key
		// did the person touch?" (CTAP 2.1 §6.1.2 step 1).
		if st := k.waitPresence(ctx, ka); st != ctap1Success {
			return false, statusError(st)
		}
		k.mu.Lock()
		defer k.mu.Unlock()
		if k.st.PINHash == nil {
			return false, statusError(ctap2ErrPINNotSet)
		}
		return false, statusError(ctap2ErrPINInvalid)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if param != nil {
		if err := k.checkToken(param, proto, msg, perm, rpID); err != nil {
			return false, err
		}
		return true, nil
	}
	builtIn := k.opts.BuiltInUV || k.bioUV()
	if wantUV || k.st.AlwaysUV && builtIn {
		if builtIn {
			return true, nil // the simulated finger matches
		}
		return false, statusError(ctap2ErrInvalidOption) // no built-in UV
	}
	if k.st.AlwaysUV {
		// alwaysUv: no request goes through without user verification
		// (CTAP 2.1 §7.2.3), so the PIN must come, or be set first.
		if k.st.PINHash == nil {
			return false, statusError(ctap2ErrPINNotSet)
		}
		return false, statusError(ctap2ErrPUATRequired)
	}
	if k.st.PINHash != nil && perm == permMakeCredential {
		// makeCredUvNotRqd is false: with a PIN set, registration needs it.
		return false, statusError(ctap2ErrPUATRequired)
	}
	return false, nil
}

// authData starts an authenticator data block: rpIdHash ‖ flags ‖ counter.
func (k *Key) authData(rpID string, flags byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	out := append(h[:], flags)
	return binary.BigEndian.AppendUint32(out, k.st.Counter)
}

func sign(key *ecdsa.PrivateKey, msg []byte) ([]byte, error) {
	h := sha256.Sum256(msg)
	return ecdsa.SignASN1(rand.Reader, key, h[:])
}

// coseKey encodes an EC2 P-256 public key as a COSE_Key.
func coseKey(pub *ecdsa.PublicKey, alg int) map[int]any {
	x, y := make([]byte, 32), make([]byte, 32)
	pub.X.FillBytes(x)
	pub.Y.FillBytes(y)
	return map[int]any{1: 2, 3: alg, -1: 1, -2: x, -3: y}
}

func (k *Key) findCred(id []byte) *cred {
	for _, c := range k.st.Creds {
		if bytes.Equal(c.ID, id) {
			return c
		}
	}
	return nil
}

func (k *Key) findResident(rpID string, userID []byte) *cred {
	for _, c := range k.st.Creds {
		if c.Resident && c.RPID == rpID && bytes.Equal(c.UserID, userID) {
			return c
		}
	}
	return nil
}

func (k *Key) removeCred(id []byte) bool {
	for i, c := range k.st.Creds {
		if bytes.Equal(c.ID, id) {
			k.st.Creds = append(k.st.Creds[:i], k.st.Creds[i+1:]...)
			return true
		}
	}
	return false
}

// reset wipes credentials, the PIN and the configuration after a touch,
// but only within ResetWindow of power-up (CTAP 2.1 §6.6), so software
// cannot wipe a key that has sat plugged in: the person must replug it.
func (k *Key) reset(ctx context.Context, ka func(byte)) error {
	k.mu.Lock()
	late := k.opts.Now().Sub(k.bootAt) > k.opts.ResetWindow
	k.mu.Unlock()
	if late {
		return statusError(ctap2ErrNotAllowed)
	}
	if st := k.waitPresence(ctx, ka); st != ctap1Success {
		return statusError(st)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.st = state{PINRetries: maxPINRetries}
	// Forget tokens and key agreement as at power-up, but the reset
	// window still counts from the real power-up: a reset is no replug.
	boot := k.bootAt
	k.powerUp()
	k.bootAt = boot
	return k.save()
}
