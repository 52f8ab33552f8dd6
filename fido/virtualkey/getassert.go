// The virtual key's authenticatorGetAssertion and
// authenticatorGetNextAssertion: the request's shape, the assertions
// still pending, and signing each one.

package virtualkey

import (
	"context"

	"github.com/fxamacker/cbor/v2"
)

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
	hmac  *hmacSecretInput
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
	hs, err := k.hmacSecretIn(r.Extensions)
	if err != nil {
		k.mu.Unlock()
		return nil, err
	}
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
		k.assertQueue = append(k.assertQueue, pendingAssertion{cred: c, cdh: r.ClientDataHash, flags: flags, hmac: hs})
	}
	out, err := k.assertion(found[0], r.ClientDataHash, flags, hs, len(r.AllowList) == 0)
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
	return k.assertion(p.cred, p.cdh, p.flags, p.hmac, true)
}

// assertion signs authData ‖ clientDataHash with the credential's key,
// authData carrying the hmac-secret output when one was asked for and the
// credential has one. Called with k.mu held.
func (k *Key) assertion(c *cred, cdh []byte, flags byte, hs *hmacSecretInput, withUser bool) (map[int]any, error) {
	secret := hs.output(c, flags&flagUV != 0)
	if secret != nil {
		flags |= flagED
	}
	k.st.Counter++
	if err := k.save(); err != nil {
		return nil, err
	}
	authData := k.authData(c.RPID, flags)
	if secret != nil {
		ext, _ := encMode.Marshal(map[string]any{"hmac-secret": secret})
		authData = append(authData, ext...)
	}
	priv, err := c.key()
	if err != nil {
		return nil, err
	}
	sig, err := credSign(priv, append(append([]byte{}, authData...), cdh...))
	if err != nil {
		return nil, err
	}
	out := map[int]any{1: map[string]any{"id": c.ID, "type": "public-key"}, 2: authData, 3: sig}
	if withUser || c.Resident {
		out[4] = map[string]any{"id": c.UserID}
	}
	return out, nil
}
