package virtualkey

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"time"

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
		0x0a: []map[string]any{{"alg": coseAlgES256, "type": "public-key"}},
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
	if wantUV || k.st.AlwaysUV && k.opts.BuiltInUV {
		if k.opts.BuiltInUV {
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
	es256 := false
	for _, p := range r.PubKeyCredParams {
		es256 = es256 || (p.Type == "public-key" && p.Alg == coseAlgES256)
	}
	if !es256 {
		return nil, statusError(ctap2ErrUnsupportedAlgorithm)
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

	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(priv)
	c := &cred{ID: make([]byte, 32), RPID: r.RP.ID, RPName: r.RP.Name, UserID: r.User.ID, UserName: r.User.Name,
		DisplayName: r.User.DisplayName, Priv: pkcs8, Resident: rk, Created: time.Now().UTC(), CredProtect: ext.credProtect}
	rand.Read(c.ID)
	if ext.hmacSecret {
		c.CredRandom = make([]byte, 32)
		rand.Read(c.CredRandom)
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
	pub, _ := encMode.Marshal(coseKey(&priv.PublicKey, coseAlgES256))
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

// authData starts an authenticator data block: rpIdHash ‖ flags ‖ counter.
func (k *Key) authData(rpID string, flags byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	out := append(h[:], flags)
	return binary.BigEndian.AppendUint32(out, k.st.Counter)
}

// attest signs the new credential as the configured format demands.
func (k *Key) attest(authData, cdh []byte, credKey *ecdsa.PrivateKey, rpID string, credID []byte) (string, map[string]any, error) {
	msg := append(append([]byte{}, authData...), cdh...)
	switch k.opts.Attestation {
	case "none":
		return "none", map[string]any{}, nil
	case "self":
		sig, err := sign(credKey, msg)
		return "packed", map[string]any{"alg": coseAlgES256, "sig": sig}, err
	case "fido-u2f":
		// U2F signs 0x00 ‖ rpIdHash ‖ clientDataHash ‖ credId ‖ pubkey(65).
		rpHash := sha256.Sum256([]byte(rpID))
		pub := elliptic.Marshal(elliptic.P256(), credKey.PublicKey.X, credKey.PublicKey.Y) //nolint:staticcheck // U2F's raw point format
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

type getAssertRequest struct {
	RPID              string                     `cbor:"1,keyasint"`
	ClientDataHash    []byte                     `cbor:"2,keyasint"`
	AllowList         []credDesc                 `cbor:"3,keyasint"`
	Extensions        map[string]cbor.RawMessage `cbor:"4,keyasint"`
	Options           map[string]bool            `cbor:"5,keyasint"`
	PinUvAuthParam    []byte                     `cbor:"6,keyasint"`
	PinUvAuthProtocol *uint64                    `cbor:"7,keyasint"`
}

type pendingAssertion struct {
	cred  *cred
	cdh   []byte
	flags byte
}

func (k *Key) getAssertion(ctx context.Context, params []byte, ka func(byte)) (any, error) {
	var r getAssertRequest
	if err := decodeParams(params, &r); err != nil {
		return nil, err
	}
	if r.RPID == "" || r.ClientDataHash == nil {
		return nil, statusError(ctap2ErrMissingParameter)
	}
	if len(r.ClientDataHash) != 32 {
		return nil, statusError(ctap1ErrInvalidParameter)
	}
	up := true
	if v, ok := r.Options["up"]; ok {
		up = v
	}
	uv, err := k.userVerify(ctx, ka, r.PinUvAuthParam, r.PinUvAuthProtocol, r.ClientDataHash, permGetAssertion, r.RPID, r.Options["uv"])
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	var found []*cred
	if len(r.AllowList) > 0 {
		for _, d := range r.AllowList {
			if c := k.findCred(d.ID); c != nil && c.RPID == r.RPID && (uv || c.protection() < credProtectUVRequired) {
				found = append(found, c)
			}
		}
	} else {
		for i := len(k.st.Creds) - 1; i >= 0; i-- {
			if c := k.st.Creds[i]; c.Resident && c.RPID == r.RPID && (uv || c.protection() == credProtectUVOptional) {
				found = append(found, c)
			}
		}
	}
	k.mu.Unlock()
	if len(found) == 0 {
		return nil, statusError(ctap2ErrNoCredentials)
	}
	if up {
		if st := k.waitPresence(ctx, ka); st != ctap1Success {
			return nil, statusError(st)
		}
	}
	var flags byte
	if up {
		flags |= flagUP
	}
	if uv {
		flags |= flagUV
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.assertQueue = nil
	for _, c := range found[1:] {
		k.assertQueue = append(k.assertQueue, pendingAssertion{cred: c, cdh: r.ClientDataHash, flags: flags})
	}
	out, err := k.assertion(found[0], r.ClientDataHash, flags, len(r.AllowList) == 0)
	if err == nil && len(found) > 1 && len(r.AllowList) == 0 {
		out[5] = len(found)
	}
	return out, err
}

func (k *Key) getNextAssertion() (any, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.assertQueue) == 0 {
		return nil, statusError(ctap2ErrNotAllowed)
	}
	p := k.assertQueue[0]
	k.assertQueue = k.assertQueue[1:]
	return k.assertion(p.cred, p.cdh, p.flags, true)
}

// assertion signs authData ‖ clientDataHash with the credential's key.
// Called with k.mu held.
func (k *Key) assertion(c *cred, cdh []byte, flags byte, withUser bool) (map[int]any, error) {
	k.st.Counter++
	if err := k.save(); err != nil {
		return nil, err
	}
	authData := k.authData(c.RPID, flags)
	priv, err := c.key()
	if err != nil {
		return nil, err
	}
	sig, err := sign(priv, append(append([]byte{}, authData...), cdh...))
	if err != nil {
		return nil, err
	}
	out := map[int]any{1: map[string]any{"id": c.ID, "type": "public-key"}, 2: authData, 3: sig}
	if withUser || c.Resident {
		out[4] = map[string]any{"id": c.UserID}
	}
	return out, nil
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
