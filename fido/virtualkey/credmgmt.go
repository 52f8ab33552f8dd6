package virtualkey

import (
	"bytes"
	"crypto/sha256"

	"github.com/fxamacker/cbor/v2"
)

type credmgmtCursor struct {
	rps   []*cred // one credential per RP, for its rp fields
	creds []*cred
}

// subCommandRequest is the request of the commands made of subcommands
// (credential management, authenticatorConfig): the same four keys.
type subCommandRequest struct {
	SubCommand        *uint64         `cbor:"1,keyasint"`
	SubCommandParams  cbor.RawMessage `cbor:"2,keyasint"`
	PinUvAuthProtocol *uint64         `cbor:"3,keyasint"`
	PinUvAuthParam    []byte          `cbor:"4,keyasint"`
}

type credMgmtParams struct {
	RPIDHash     []byte      `cbor:"1,keyasint"`
	CredentialID *credDesc   `cbor:"2,keyasint"`
	User         *userEntity `cbor:"3,keyasint"`
}

// credMgmt implements authenticatorCredentialManagement (CTAP 2.1 §6.8).
func (k *Key) credMgmt(params []byte) (any, error) {
	var r subCommandRequest
	if err := decodeParams(params, &r); err != nil {
		return nil, err
	}
	if r.SubCommand == nil {
		return nil, statusError(ctap2ErrMissingParameter)
	}
	sub := *r.SubCommand
	var p credMgmtParams
	if len(r.SubCommandParams) > 0 {
		if err := decodeParams(r.SubCommandParams, &p); err != nil {
			return nil, err
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	switch sub {
	case 0x01, 0x02, 0x04, 0x06, 0x07:
		if r.PinUvAuthParam == nil {
			return nil, statusError(ctap2ErrPUATRequired)
		}
		msg := append([]byte{byte(sub)}, r.SubCommandParams...)
		if err := k.checkToken(r.PinUvAuthParam, r.PinUvAuthProtocol, msg, permCredMgmt, ""); err != nil {
			return nil, err
		}
	}
	switch sub {
	case 0x01: // getCredsMetadata
		n := k.residentCount()
		return map[int]any{1: n, 2: k.opts.MaxResident - n}, nil
	case 0x02: // enumerateRPsBegin
		seen := map[string]bool{}
		k.credmgmt.rps = nil
		for _, c := range k.st.Creds {
			if c.Resident && !seen[c.RPID] {
				seen[c.RPID] = true
				k.credmgmt.rps = append(k.credmgmt.rps, c)
			}
		}
		if len(k.credmgmt.rps) == 0 {
			return nil, statusError(ctap2ErrNoCredentials)
		}
		out := k.nextRP()
		out[5] = len(k.credmgmt.rps) + 1
		return out, nil
	case 0x03: // enumerateRPsGetNextRP
		if len(k.credmgmt.rps) == 0 {
			return nil, statusError(ctap2ErrNotAllowed)
		}
		return k.nextRP(), nil
	case 0x04: // enumerateCredentialsBegin
		if p.RPIDHash == nil {
			return nil, statusError(ctap2ErrMissingParameter)
		}
		k.credmgmt.creds = nil
		for _, c := range k.st.Creds {
			h := sha256.Sum256([]byte(c.RPID))
			if c.Resident && bytes.Equal(h[:], p.RPIDHash) {
				k.credmgmt.creds = append(k.credmgmt.creds, c)
			}
		}
		if len(k.credmgmt.creds) == 0 {
			return nil, statusError(ctap2ErrNoCredentials)
		}
		out, err := k.nextCred()
		if err == nil {
			out[9] = len(k.credmgmt.creds) + 1
		}
		return out, err
	case 0x05: // enumerateCredentialsGetNextCredential
		if len(k.credmgmt.creds) == 0 {
			return nil, statusError(ctap2ErrNotAllowed)
		}
		return k.nextCred()
	case 0x06: // deleteCredential
		if p.CredentialID == nil {
			return nil, statusError(ctap2ErrMissingParameter)
		}
		if !k.removeCred(p.CredentialID.ID) {
			return nil, statusError(ctap2ErrNoCredentials)
		}
		return nil, k.save()
	case 0x07: // updateUserInformation
		if p.CredentialID == nil || p.User == nil {
			return nil, statusError(ctap2ErrMissingParameter)
		}
		c := k.findCred(p.CredentialID.ID)
		if c == nil || !bytes.Equal(c.UserID, p.User.ID) {
			return nil, statusError(ctap2ErrNoCredentials)
		}
		c.UserName, c.DisplayName = p.User.Name, p.User.DisplayName
		return nil, k.save()
	}
	return nil, statusError(ctap2ErrInvalidSubcommand)
}

func (k *Key) nextRP() map[int]any {
	c := k.credmgmt.rps[0]
	k.credmgmt.rps = k.credmgmt.rps[1:]
	h := sha256.Sum256([]byte(c.RPID))
	rp := map[string]any{"id": c.RPID}
	if c.RPName != "" {
		rp["name"] = c.RPName
	}
	return map[int]any{3: rp, 4: h[:]}
}

func (k *Key) nextCred() (map[int]any, error) {
	c := k.credmgmt.creds[0]
	k.credmgmt.creds = k.credmgmt.creds[1:]
	priv, err := c.key()
	if err != nil {
		return nil, err
	}
	user := map[string]any{"id": c.UserID}
	if c.UserName != "" {
		user["name"] = c.UserName
	}
	if c.DisplayName != "" {
		user["displayName"] = c.DisplayName
	}
	return map[int]any{6: user, 7: map[string]any{"id": c.ID, "type": "public-key"},
		8: credCOSEKey(priv), 10: c.protection()}, nil
}
